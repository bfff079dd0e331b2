/**
 * What each report role may do, and the rules the share dialog offers choices by
 * (docs/security.md, "Roles"). Pure: the server enforces all of it again; these
 * rules only keep the dialog from offering what would be refused.
 */

import type { EmbedTarget, Member, Role, ShareLink, UserInfo } from '../api'

/** Strongest first, the order the dialog lists them in. */
export const ROLES: readonly Role[] = ['owner', 'editor', 'commenter', 'viewer']

/** A share link grants one of these, never edit or manage rights. */
export const LINK_ROLES: readonly Role[] = ['viewer', 'commenter']

export const ROLE_LABELS: Record<Role, string> = {
  owner: 'Owner',
  editor: 'Editor',
  commenter: 'Commenter',
  viewer: 'Viewer',
}

export const ROLE_SUMMARIES: Record<Role, string> = {
  owner: 'can edit, comment and manage who has access',
  editor: 'can edit and comment',
  commenter: 'can read and comment',
  viewer: 'can read',
}

/** "You are an editor of this report: you can edit and comment." */
export function roleSentence(role: Role | null): string {
  if (role === null) return 'You have no access to this report.'
  const name = ROLE_LABELS[role].toLowerCase()
  return `You are ${/^[aeiou]/.test(name) ? 'an' : 'a'} ${name} of this report: you ${ROLE_SUMMARIES[role]}.`
}

export interface Capabilities {
  /** Write the report document (body, title, panels). */
  edit: boolean
  /** Write the comments document. */
  comment: boolean
  /** Members, share links, deleting the report. */
  manage: boolean
}

export function capabilitiesOf(role: Role | null): Capabilities {
  return {
    edit: role === 'owner' || role === 'editor',
    comment: role === 'owner' || role === 'editor' || role === 'commenter',
    manage: role === 'owner',
  }
}

export const LAST_OWNER_REASON = 'A report keeps at least one owner; make someone else an owner first.'

/** Whether `userId` is the report's only owner (the server refuses to demote or remove them). */
export function isLastOwner(userId: string, members: readonly Member[]): boolean {
  const owners = members.filter((m) => m.role === 'owner')
  return owners.length === 1 && owners[0].user_id === userId
}

export interface RoleChoice {
  role: Role
  label: string
  disabled: boolean
}

/** The roles a member's role picker offers: all of them, but the last owner stays owner. */
export function roleChoices(member: Member, members: readonly Member[]): RoleChoice[] {
  const locked = isLastOwner(member.user_id, members)
  return ROLES.map((role) => ({ role, label: ROLE_LABELS[role], disabled: locked && role !== 'owner' }))
}

/** Why a member cannot be removed, or `null` when they can. */
export function removalBlocked(member: Member, members: readonly Member[]): string | null {
  return isLastOwner(member.user_id, members) ? LAST_OWNER_REASON : null
}

/** Members, owners first, then by display name. */
export function sortMembers(members: readonly Member[], nameOf: (userId: string) => string): Member[] {
  const rank = (role: Role) => ROLES.indexOf(role)
  return [...members].sort(
    (a, b) => rank(a.role) - rank(b.role) || nameOf(a.user_id).localeCompare(nameOf(b.user_id)),
  )
}

/** People who could be added: every user who is not a member yet, by name. */
export function addableUsers(users: readonly UserInfo[], members: readonly Member[]): UserInfo[] {
  const taken = new Set(members.map((m) => m.user_id))
  return users.filter((u) => !taken.has(u.id)).sort((a, b) => a.name.localeCompare(b.name))
}

export type Expiry = 'never' | '1d' | '7d' | '30d'

export const EXPIRY_CHOICES: ReadonlyArray<{ value: Expiry; label: string }> = [
  { value: 'never', label: 'Never expires' },
  { value: '1d', label: 'Expires in 1 day' },
  { value: '7d', label: 'Expires in 7 days' },
  { value: '30d', label: 'Expires in 30 days' },
]

const DAY_MS = 24 * 3600_000
const EXPIRY_DAYS: Record<Expiry, number | null> = { never: null, '1d': 1, '7d': 7, '30d': 30 }

/** The `expires_at` to send for a choice made at `now` (ISO 8601, UTC), or `null`. */
export function expiryTime(choice: Expiry, now: Date): string | null {
  const days = EXPIRY_DAYS[choice]
  return days === null ? null : new Date(now.getTime() + days * DAY_MS).toISOString()
}

export type LinkState = 'active' | 'expired' | 'revoked'

export function linkState(link: ShareLink, now: Date): LinkState {
  if (link.revoked_at !== null) return 'revoked'
  if (link.expires_at !== null && Date.parse(link.expires_at) <= now.getTime()) return 'expired'
  return 'active'
}

/** Links still in use first (newest first), then expired and revoked ones. */
export function sortLinks(links: readonly ShareLink[], now: Date): ShareLink[] {
  const order: Record<LinkState, number> = { active: 0, expired: 1, revoked: 2 }
  return [...links].sort(
    (a, b) => order[linkState(a, now)] - order[linkState(b, now)] || Date.parse(b.created_at) - Date.parse(a.created_at),
  )
}

/**
 * The address a share link is used at: the report page with the token as the
 * `token` query parameter, as the server reads link tokens (docs/security.md).
 */
export function shareUrl(origin: string, reportId: string, token: string): string {
  return `${origin}/r/${encodeURIComponent(reportId)}?token=${encodeURIComponent(token)}`
}

/** What an embed link shows, in words: "Whole report" or "Panel: Loss". */
export function embedLabel(target: EmbedTarget | null | undefined, panelTitles: ReadonlyMap<string, string>): string {
  if (!target || target.kind === 'report') return 'Whole report'
  return `Panel: ${panelTitles.get(target.panel_id) ?? 'a panel no longer in the report'}`
}

const escapeAttribute = (value: string) =>
  value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/** The `<iframe>` another page pastes to show an embed link. */
export function embedSnippet(url: string, title: string): string {
  return `<iframe src="${escapeAttribute(url)}" title="${escapeAttribute(title)}" width="800" height="450" style="border:0" loading="lazy"></iframe>`
}
