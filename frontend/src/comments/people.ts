/**
 * Whom a comment may @mention: the report's members when the caller may list them
 * (`GET /api/reports/{id}/members` is for owners, docs/security.md), and otherwise, or as
 * well, everyone the page has met: people present now, and everyone whose name the
 * comments document's `names` map holds (each commenter records their own).
 */

import { ApiError, getMyAccess, listMembers, listUsers } from '../api'
import type { MentionPerson } from './mentions'

export interface KnownPeople {
  /** Member user ids (names may be unknown), or null when the caller may not list them. */
  members: readonly string[] | null
  /** user id -> display name, from every source that has one, most trusted first; they name
   * people, they do not add any (an administrator's list of all users is one of them). */
  names: ReadonlyArray<ReadonlyMap<string, string>>
  /** Other people met in the report (present now, named in the comments document, authors). */
  seen: readonly string[]
  /** Yourself: never offered. */
  self: string
}

/**
 * The people to offer, by name: members, then everyone else seen or named. A member
 * without a known name is offered under their id, so they can still be mentioned.
 */
export function mentionPeople({ members, names, seen, self }: KnownPeople): MentionPerson[] {
  const nameOf = (id: string): string | undefined => {
    for (const map of names) {
      const name = map.get(id)?.trim()
      if (name) return name
    }
    return undefined
  }
  const ids = new Set<string>([...(members ?? []), ...seen])
  ids.delete(self)
  ids.delete('')
  const people: MentionPerson[] = []
  for (const id of ids) {
    const name = nameOf(id)
    if (name !== undefined) people.push({ id, name })
    else if (members?.includes(id)) people.push({ id, name: id })
  }
  return people.sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id))
}

/** What the server tells this caller about the report's people. */
export interface ServerPeople {
  members: string[] | null
  names: Map<string, string>
}

/**
 * The report's members and, for administrators, everyone's names. Only owners may list
 * members (the caller's role is asked first, so nobody else meets a 403); a failure
 * leaves the picker to the people the page knows.
 */
export async function loadServerPeople(reportId: string): Promise<ServerPeople> {
  const names = new Map<string, string>()
  try {
    const access = await getMyAccess(reportId)
    if (access.role !== 'owner') return { members: null, names }
    const members = (await listMembers(reportId)).map((member) => member.user_id)
    // Only administrators may list users; other owners name members from what the page knows.
    if (access.user.admin) for (const user of await listUsers()) names.set(user.id, user.name)
    return { members, names }
  } catch (error) {
    if (!(error instanceof ApiError)) console.warn('coreport: could not list the report’s members', error)
    return { members: null, names }
  }
}
