/**
 * The follow-mode fields of an awareness state (docs/protocol.md, "Awareness fields the
 * web app uses"), read defensively since any client may send anything:
 *
 * * `viewport`: where the person is looking (see viewport.ts);
 * * `focusedPanel`: the id of the panel they point at or clicked, or null;
 * * `presenting`: true while they ask everyone to follow them;
 * * `following`: the presence key (user id) of the person they follow, or null.
 */

import type { Peer } from '../presence'
import { parseViewport, type Viewport } from './viewport'

export interface FollowFields {
  viewport: Viewport | null
  focusedPanel: string | null
  presenting: boolean
  following: string | null
}

export type AwarenessStates = ReadonlyMap<number, Record<string, unknown>>

export function followFieldsOf(state: Record<string, unknown> | undefined): FollowFields {
  const text = (value: unknown) => (typeof value === 'string' && value !== '' && value.length <= 200 ? value : null)
  return {
    viewport: parseViewport(state?.viewport),
    focusedPanel: text(state?.focusedPanel),
    presenting: state?.presenting === true,
    following: text(state?.following),
  }
}

/**
 * The tab of `peer` to follow: a presenting one if any, else the one whose state
 * changed last (the tab they are using), given `lastUpdated` per client id.
 */
export function leadingClient(peer: Peer, states: AwarenessStates, lastUpdated: (clientId: number) => number): number | null {
  let best: number | null = null
  let bestRank: [number, number] = [-1, -Infinity]
  for (const clientId of peer.clientIds) {
    const fields = followFieldsOf(states.get(clientId))
    const rank: [number, number] = [fields.presenting ? 1 : 0, lastUpdated(clientId)]
    if (rank[0] > bestRank[0] || (rank[0] === bestRank[0] && rank[1] > bestRank[1])) {
      best = clientId
      bestRank = rank
    }
  }
  return best
}

/** Keys of the other people with a presenting tab. */
export function presentersOf(peers: readonly Peer[], states: AwarenessStates): string[] {
  return peers.filter((peer) => !peer.isSelf && peer.clientIds.some((id) => followFieldsOf(states.get(id)).presenting)).map((peer) => peer.key)
}

/** The other people following `key`. */
export function followersOf(peers: readonly Peer[], states: AwarenessStates, key: string): Peer[] {
  return peers.filter((peer) => !peer.isSelf && peer.clientIds.some((id) => followFieldsOf(states.get(id)).following === key))
}
