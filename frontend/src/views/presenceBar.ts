/** Avatars of everyone in the report, live from the provider's awareness. */

import type { Awareness } from 'y-protocols/awareness'

import { initials } from '../identity'
import { peersFromAwareness, type Peer } from '../presence'
import { h } from './dom'

/** Past this many avatars, the rest collapse into "+N". */
const MAX_SHOWN = 6

export function createPresenceBar(awareness: Awareness, selfKey: string): { element: HTMLElement; destroy: () => void } {
  const element = h('ul', { class: 'presence', 'aria-label': 'People in this report' })

  let rendered = ''
  const render = () => {
    const peers = peersFromAwareness(
      awareness.getStates() as Map<number, Record<string, unknown>>,
      awareness.clientID,
      selfKey,
    )
    // Cursor moves change awareness too; only redraw when the people changed.
    const signature = JSON.stringify(peers.map((p) => [p.key, p.name, p.color, p.isSelf]))
    if (signature === rendered) return
    rendered = signature
    const shown = peers.slice(0, MAX_SHOWN)
    const hidden = peers.slice(MAX_SHOWN)
    element.replaceChildren(
      ...shown.map(avatar),
      ...(hidden.length > 0
        ? [
            h(
              'li',
              { class: 'avatar avatar--more', title: hidden.map((p) => p.name).join(', ') },
              h('span', { 'aria-hidden': 'true' }, `+${hidden.length}`),
              h('span', { class: 'visually-hidden' }, `and ${hidden.map((p) => p.name).join(', ')}`),
            ),
          ]
        : []),
    )
  }

  // 'change' fires only when a state really changed, not on every heartbeat.
  awareness.on('change', render)
  render()
  return { element, destroy: () => awareness.off('change', render) }
}

function avatar(peer: Peer): HTMLElement {
  const name = peer.isSelf ? `${peer.name} (you)` : peer.name
  return h(
    'li',
    {
      class: peer.isSelf ? 'avatar avatar--self' : 'avatar',
      style: `--avatar-color: ${peer.color}`,
      'data-name': name,
      'data-peer': peer.key,
    },
    h('span', { 'aria-hidden': 'true' }, initials(peer.name)),
    h('span', { class: 'visually-hidden' }, name),
  )
}
