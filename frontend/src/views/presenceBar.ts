/**
 * Avatars of everyone in the report, live from the provider's awareness. With follow
 * mode (`follow`), another person's avatar is a button that follows them; the person
 * followed and anyone presenting are marked.
 */

import type { Awareness } from 'y-protocols/awareness'

import '../follow/follow.css'

import { followFieldsOf, presentersOf, type AwarenessStates } from '../follow/awarenessFields'
import type { FollowControl } from '../follow/followMode'
import { initials } from '../identity'
import { peersFromAwareness, type Peer } from '../presence'
import { h } from './dom'

/** Past this many avatars, the rest collapse into "+N". */
const MAX_SHOWN = 6

export function createPresenceBar(
  awareness: Awareness,
  selfKey: string,
  follow?: FollowControl,
): { element: HTMLElement; destroy: () => void } {
  const element = h('ul', { class: 'presence', 'aria-label': 'People in this report' })

  let rendered = ''
  const render = () => {
    const states = awareness.getStates() as AwarenessStates
    const peers = peersFromAwareness(states, awareness.clientID, selfKey)
    const presenters = new Set(presentersOf(peers, states))
    const selfPresents = followFieldsOf(awareness.getLocalState() ?? undefined).presenting
    const followed = follow?.following() ?? null
    // Cursor moves change awareness too; only redraw when the people changed.
    const signature = JSON.stringify([peers.map((p) => [p.key, p.name, p.color, p.isSelf, presenters.has(p.key)]), followed, selfPresents])
    if (signature === rendered) return
    rendered = signature
    const shown = peers.slice(0, MAX_SHOWN)
    const hidden = peers.slice(MAX_SHOWN)
    element.replaceChildren(
      ...shown.map((peer) => avatar(peer, { presenting: peer.isSelf ? selfPresents : presenters.has(peer.key), followed: peer.key === followed, follow })),
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
  const stopFollowUpdates = follow?.onChange(render)
  render()
  return {
    element,
    destroy: () => {
      awareness.off('change', render)
      stopFollowUpdates?.()
    },
  }
}

interface AvatarState {
  presenting: boolean
  followed: boolean
  follow: FollowControl | undefined
}

function avatar(peer: Peer, { presenting, followed, follow }: AvatarState): HTMLElement {
  const status = [peer.isSelf ? 'you' : '', presenting ? 'presenting' : '', followed ? 'following' : ''].filter(Boolean).join(', ')
  const name = status ? `${peer.name} (${status})` : peer.name
  const classes = ['avatar']
  if (peer.isSelf) classes.push('avatar--self')
  if (presenting) classes.push('avatar--presenting')
  if (followed) classes.push('avatar--followed')
  const face = [h('span', { 'aria-hidden': 'true' }, initials(peer.name)), h('span', { class: 'visually-hidden' }, name)]
  const item = h('li', { class: classes.join(' '), style: `--avatar-color: ${peer.color}`, 'data-name': name, 'data-peer': peer.key })
  if (peer.isSelf || !follow) {
    item.append(...face)
    return item
  }
  const label = followed ? `Stop following ${peer.name}` : `Follow ${peer.name}`
  const button = h('button', { type: 'button', class: 'avatar__follow', 'aria-pressed': String(followed), 'aria-label': label, title: label }, ...face)
  button.addEventListener('click', () => (followed ? follow.stop() : follow.follow(peer.key)))
  item.append(button)
  return item
}
