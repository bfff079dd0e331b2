/**
 * Same-origin REST calls: the session cookie goes along by itself; writes add
 * the CSRF token the server asks for (docs/security.md, "Browser protections").
 * A 401 anywhere means "signed out": listeners (the app shell) show sign-in.
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
const CSRF_COOKIE = 'coreport_csrf'

let csrfToken: string | null = null
const unauthorizedListeners = new Set<() => void>()

/** Remember the token `POST|GET /api/session` returned (the cookie holds the same). */
export function setCsrfToken(token: string | null): void {
  csrfToken = token
}

/** Called whenever the server answers 401 (signed out, session expired or revoked). */
export function onUnauthorized(listener: () => void): () => void {
  unauthorizedListeners.add(listener)
  return () => unauthorizedListeners.delete(listener)
}

export function notifyUnauthorized(): void {
  for (const listener of [...unauthorizedListeners]) listener()
}

/** The value of a readable cookie in `cookieHeader` (`document.cookie`). */
export function readCookie(cookieHeader: string, name: string): string | null {
  for (const part of cookieHeader.split(';')) {
    const [key, ...rest] = part.trim().split('=')
    if (key === name) return decodeURIComponent(rest.join('='))
  }
  return null
}

function currentCsrf(): string | null {
  return readCookie(document.cookie, CSRF_COOKIE) ?? csrfToken
}

export interface RequestOptions {
  body?: unknown
  /** Do not announce a 401 (the sign-in form's own call). */
  quiet401?: boolean
  signal?: AbortSignal
}

export async function api<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const response = await send(method, path, 'application/json', options)
  if (response.status === 204) return undefined as T
  return (await response.json()) as T
}

/** Like {@link api}, for routes that answer text (Markdown, HTML, diffs). */
export async function apiText(method: string, path: string, options: RequestOptions = {}): Promise<string> {
  const response = await send(method, path, 'text/*, */*;q=0.5', options)
  return response.status === 204 ? '' : response.text()
}

let bearer: string | null = null

/** Authenticate REST requests with `token` instead of the browser session (share links). */
export function setBearer(token: string | null): void {
  bearer = token
}

/** One request: CSRF header on writes, 401 announced, any other failure an {@link ApiError}. */
async function send(method: string, path: string, accept: string, options: RequestOptions): Promise<Response> {
  const headers: Record<string, string> = { accept }
  if (options.body !== undefined) headers['content-type'] = 'application/json'
  if (bearer !== null) headers.authorization = `Bearer ${bearer}`
  if (WRITES.has(method)) {
    const token = currentCsrf()
    if (token) headers['x-csrf-token'] = token
  }
  const response = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: options.signal,
  })
  if (response.status === 401 && !options.quiet401) notifyUnauthorized()
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`
    try {
      const data = (await response.json()) as { error?: unknown }
      if (typeof data.error === 'string') message = data.error
    } catch {
      // Not JSON: the status line is the message.
    }
    throw new ApiError(response.status, message)
  }
  return response
}

// -- one report: access, members, share links (docs/security.md) ---------------------

export type Role = 'owner' | 'editor' | 'commenter' | 'viewer'

export interface UserInfo {
  id: string
  name: string
  email: string | null
  color: string
  admin: boolean
}

export interface MyAccess {
  report_id: string
  /** `null`: no access (the server answers 403 before that, so rarely seen). */
  role: Role | null
  user: { via: string; user: UserInfo | null; admin: boolean }
}

export interface Member {
  user_id: string
  role: Role
  added_by: string | null
  added_at: string
}

export interface ShareLink {
  prefix: string
  report_id: string
  role: Role
  created_by: string | null
  created_at: string
  expires_at: string | null
  revoked_at: string | null
  /** Set on embed links: what the link shows (one panel, or the whole report read-only). */
  embed?: EmbedTarget | null
}

export type EmbedTarget = { kind: 'report' } | { kind: 'panel'; panel_id: string }

/** A link just created: the only answer that carries its token. */
export interface CreatedShareLink extends ShareLink {
  token: string
}

/** An embed link just created, with the address of its embed page (`/embed/{token}`). */
export interface CreatedEmbedLink extends CreatedShareLink {
  url: string
}

const reportPath = (reportId: string, rest = '') => `/api/reports/${encodeURIComponent(reportId)}${rest}`

export function getMyAccess(reportId: string, signal?: AbortSignal): Promise<MyAccess> {
  return api<MyAccess>('GET', reportPath(reportId, '/access'), { signal })
}

export async function listMembers(reportId: string): Promise<Member[]> {
  return (await api<{ members: Member[] }>('GET', reportPath(reportId, '/members'))).members
}

/** Add `user` (an id, email or name) as a member, or change their role. */
export function setMember(reportId: string, user: string, role: Role): Promise<Member> {
  return api<Member>('PUT', reportPath(reportId, `/members/${encodeURIComponent(user)}`), { body: { role } })
}

export function removeMember(reportId: string, user: string): Promise<void> {
  return api<void>('DELETE', reportPath(reportId, `/members/${encodeURIComponent(user)}`))
}

export async function listLinks(reportId: string): Promise<ShareLink[]> {
  return (await api<{ links: ShareLink[] }>('GET', reportPath(reportId, '/links'))).links
}

export function createLink(reportId: string, role: Role, expiresAt: string | null): Promise<CreatedShareLink> {
  return api<CreatedShareLink>('POST', reportPath(reportId, '/links'), { body: { role, expires_at: expiresAt } })
}

/** An embed link (read-only, for another site's iframe) to one panel, or to the whole report (`panelId` null). */
export function createEmbedLink(reportId: string, panelId: string | null, expiresAt: string | null): Promise<CreatedEmbedLink> {
  const embed = panelId === null ? { report: true } : { panel_id: panelId }
  return api<CreatedEmbedLink>('POST', reportPath(reportId, '/links'), { body: { role: 'viewer', expires_at: expiresAt, embed } })
}

export function revokeLink(reportId: string, prefix: string): Promise<ShareLink> {
  return api<ShareLink>('DELETE', reportPath(reportId, `/links/${encodeURIComponent(prefix)}`))
}

/** Every user (administrators only: others get a 403 {@link ApiError}). */
export async function listUsers(): Promise<UserInfo[]> {
  return (await api<{ users: UserInfo[] }>('GET', '/api/users')).users
}

// -- versions and renderings (docs/report-api.md) ------------------------------------

export type VersionKind = 'auto' | 'named' | 'restore'

export interface VersionInfo {
  id: string
  number: number
  kind: VersionKind
  name: string | null
  title: string
  created_by: string | null
  created_at: string
  /** How many runs the version refers to. */
  runs: number
}

/** A Report API block (docs/document-schema.md, "Report API blocks"); read loosely. */
export type Block = { type: string } & Record<string, unknown>

export interface VersionContent extends VersionInfo {
  blocks: Block[]
  markdown: string
  run_refs: Array<{ run_id: string; explicit: boolean }>
}

export async function listVersions(reportId: string): Promise<VersionInfo[]> {
  return (await api<{ versions: VersionInfo[] }>('GET', reportPath(reportId, '/versions'))).versions
}

export function takeVersion(reportId: string, name: string): Promise<VersionInfo> {
  return api<VersionInfo>('POST', reportPath(reportId, '/versions'), { body: { name } })
}

export function getVersion(reportId: string, versionId: string): Promise<VersionContent> {
  return api<VersionContent>('GET', reportPath(reportId, `/versions/${encodeURIComponent(versionId)}`))
}

/** Restore a version (a new edit); answers the `restore` version taken right after. */
export function restoreVersion(reportId: string, versionId: string): Promise<VersionInfo> {
  return api<VersionInfo>('POST', reportPath(reportId, `/versions/${encodeURIComponent(versionId)}/restore`))
}

/** Unified diff of two versions' Markdown; `to` absent: against the report as it is now. */
export function diffVersions(reportId: string, from: string, to: string | null): Promise<string> {
  const query = to === null ? '' : `?to=${encodeURIComponent(to)}`
  return apiText('GET', reportPath(reportId, `/versions/${encodeURIComponent(from)}/diff${query}`))
}

export type ExportFormat = 'markdown' | 'html'

/** The report rendered as Markdown or as a standalone HTML page. */
export function renderReport(reportId: string, format: ExportFormat): Promise<string> {
  return apiText('GET', reportPath(reportId, `/${format}`))
}
