/**
 * Who the browser is signed in as (`GET /api/session`), signing in with an API
 * key (`POST /api/session`) and out (`DELETE /api/session`).
 */

import { api, ApiError, setCsrfToken } from './api'
import type { Identity } from './identity'

export interface SessionUser {
  id: string
  name: string
  email: string | null
  color: string
  admin: boolean
}

interface SessionBody {
  via: string
  user: SessionUser | null
  admin: boolean
  csrf_token: string
}

export type Account =
  /** A signed-in person. */
  | { kind: 'user'; user: SessionUser }
  /** The server runs without auth (COREPORT_INSECURE_NO_AUTH): everyone is a local admin. */
  | { kind: 'open' }
  | { kind: 'signed-out' }

export function accountOf(body: SessionBody): Account {
  setCsrfToken(body.csrf_token ?? null)
  if (body.user) return { kind: 'user', user: body.user }
  return body.via === 'insecure' ? { kind: 'open' } : { kind: 'signed-out' }
}

export async function currentAccount(): Promise<Account> {
  try {
    return accountOf(await api<SessionBody>('GET', '/api/session', { quiet401: true }))
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return { kind: 'signed-out' }
    throw error
  }
}

export async function signIn(key: string): Promise<Account> {
  return accountOf(await api<SessionBody>('POST', '/api/session', { body: { key: key.trim() }, quiet401: true }))
}

export async function signOut(): Promise<void> {
  await api<void>('DELETE', '/api/session', { quiet401: true })
  setCsrfToken(null)
}

/** The identity presence and comments use: the signed-in user's, else this browser's own. */
export function identityFor(account: Account, local: Identity): Identity {
  if (account.kind !== 'user') return local
  const color = /^#[0-9a-f]{6}$/i.test(account.user.color) ? account.user.color : local.color
  return { id: account.user.id, name: account.user.name, color }
}
