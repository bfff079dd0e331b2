/**
 * A person's role in one report, as this browser last heard it from the server.
 *
 * The report page starts from it, so that a viewer never sees an editable page while the
 * server's answer is on its way, and an editor who reloads while the server is
 * unreachable goes on writing (the edits wait in IndexedDB). With nothing heard yet, the
 * page lets nobody write until the server answers. It only shapes the page: the server
 * checks every write against the role it holds.
 */

import type { Role } from '../api'
import { ROLES } from './roles'

const KEY_PREFIX = 'coreport.role.'
/** Stored for "no access", which is something heard, unlike a missing entry. */
const NO_ROLE = 'none'

/** `undefined`: nothing heard yet; `null`: heard that the person has no access. */
export type HeardRole = Role | null | undefined

export class KnownRole {
  private readonly key: string

  constructor(
    private readonly storage: Storage,
    userId: string,
    reportId: string,
  ) {
    this.key = `${KEY_PREFIX}${reportId}.${userId}`
  }

  get(): HeardRole {
    const stored = this.storage.getItem(this.key)
    if (stored === NO_ROLE) return null
    return ROLES.find((role) => role === stored)
  }

  set(role: Role | null): void {
    try {
      this.storage.setItem(this.key, role ?? NO_ROLE)
    } catch (error) {
      // Storage full or turned off: the next page asks the server again before anyone writes.
      console.warn('coreport: could not remember the role', error)
    }
  }
}
