/**
 * Follow mode as a state machine, without the DOM: whom this tab follows and why,
 * whether it presents, and which presentations the person chose to leave.
 *
 * * Clicking someone's avatar follows them (`follow`); following ends when you scroll
 *   or type (`user-input`), press stop (`stop`), or they leave.
 * * Presenting asks everyone to follow: a tab that sees a new presenter follows them
 *   unless it presents itself or already left that presentation (`stop` while following
 *   a presenter declines it until they stop presenting), and is released when the
 *   presentation ends.
 */

export type FollowReason = 'chosen' | 'presenter'

export interface FollowState {
  /** The person (presence key) this tab follows, or null. */
  target: string | null
  reason: FollowReason | null
  /** This tab asks everyone to follow it. */
  presenting: boolean
  /** Presenters whose current presentation this tab left. */
  declined: readonly string[]
  /** Presenters seen at the last `peers` event, to tell a new presentation from an old one. */
  presenters: readonly string[]
}

export type FollowEvent =
  | { type: 'follow'; key: string }
  | { type: 'stop' }
  | { type: 'user-input' }
  | { type: 'present'; on: boolean }
  /** Who is in the report now (presence keys, yourself excluded) and who of them presents. */
  | { type: 'peers'; present: readonly string[]; presenters: readonly string[] }

export const initialFollowState: FollowState = { target: null, reason: null, presenting: false, declined: [], presenters: [] }

export function reduceFollow(state: FollowState, event: FollowEvent): FollowState {
  switch (event.type) {
    case 'follow':
      // Following someone and presenting at once would pull everyone along behind them.
      return { ...state, target: event.key, reason: 'chosen', presenting: false }
    case 'stop':
    case 'user-input':
      return unfollow(state)
    case 'present':
      return event.on ? { ...state, presenting: true, target: null, reason: null } : { ...state, presenting: false }
    case 'peers':
      return withPeers(state, event.present, event.presenters)
  }
}

function unfollow(state: FollowState): FollowState {
  if (state.target === null) return state
  const declined = state.reason === 'presenter' && !state.declined.includes(state.target) ? [...state.declined, state.target] : state.declined
  return { ...state, target: null, reason: null, declined }
}

function withPeers(state: FollowState, present: readonly string[], presenters: readonly string[]): FollowState {
  const here = new Set(present)
  const presenting = presenters.filter((key) => here.has(key))
  // A presenter who stopped (or left) may ask again later, and then is followed again.
  const declined = state.declined.filter((key) => presenting.includes(key))
  let { target, reason } = state
  if (target !== null && (!here.has(target) || (reason === 'presenter' && !presenting.includes(target)))) {
    target = null
    reason = null
  }
  const started = presenting.filter((key) => !state.presenters.includes(key) && !declined.includes(key))
  if (!state.presenting && started.length > 0 && (target === null || reason === 'presenter')) {
    target = started[0]
    reason = 'presenter'
  }
  const next = { ...state, target, reason, declined, presenters: presenting }
  return equalState(state, next) ? state : next
}

function equalState(a: FollowState, b: FollowState): boolean {
  return (
    a.target === b.target &&
    a.reason === b.reason &&
    a.presenting === b.presenting &&
    a.declined.join('\n') === b.declined.join('\n') &&
    a.presenters.join('\n') === b.presenters.join('\n')
  )
}
