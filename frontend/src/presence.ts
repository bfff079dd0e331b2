/**
 * Who is in the report, from the provider's awareness states.
 *
 * Each tab is one awareness client; a person with two tabs open is shown once
 * (merged by identity id), yourself first, then everyone else by name.
 */

export interface Peer {
  /** Identity id, or `client:<clientId>` for a client that sent no identity. */
  key: string
  name: string
  color: string
  isSelf: boolean
  /** Awareness client ids of this person's tabs. */
  clientIds: number[]
}

interface AwarenessUser {
  id?: unknown
  name?: unknown
  color?: unknown
}

const FALLBACK_COLOR = '#868e96'

export function peersFromAwareness(
  states: ReadonlyMap<number, Record<string, unknown>>,
  selfClientId: number,
  selfKey: string,
): Peer[] {
  const byKey = new Map<string, Peer>()
  for (const [clientId, state] of states) {
    const user = (state.user ?? null) as AwarenessUser | null
    // A client that has not announced itself yet (or only sends cursors) is not shown.
    if (user === null || typeof user.name !== 'string' || user.name.trim() === '') continue
    const key = typeof user.id === 'string' && user.id !== '' ? user.id : `client:${clientId}`
    const isSelf = clientId === selfClientId || key === selfKey
    const existing = byKey.get(key)
    if (existing) {
      existing.clientIds.push(clientId)
      existing.isSelf ||= isSelf
      continue
    }
    byKey.set(key, {
      key,
      name: user.name.trim(),
      color: typeof user.color === 'string' && /^#[0-9a-fA-F]{6}$/.test(user.color) ? user.color : FALLBACK_COLOR,
      isSelf,
      clientIds: [clientId],
    })
  }
  return [...byKey.values()].sort(
    (a, b) => Number(b.isSelf) - Number(a.isSelf) || a.name.localeCompare(b.name) || a.key.localeCompare(b.key),
  )
}
