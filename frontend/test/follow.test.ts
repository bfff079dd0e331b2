import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'

import { followersOf, followFieldsOf, leadingClient, presentersOf } from '../src/follow/awarenessFields'
import { initialFollowState, reduceFollow, type FollowEvent, type FollowState } from '../src/follow/followState'
import { anchorViewport, parseViewport, resolveViewport, sameViewport, scrollTargetFor, topBlock } from '../src/follow/viewport'
import { peersFromAwareness } from '../src/presence'

/** Blocks 100px tall stacked from `start` (viewport coordinates). */
const stacked = (count: number, start = 0, height = 100) => (index: number) => {
  if (index < 0 || index >= count) throw new Error(`measured block ${index} of ${count}`)
  return { top: start + index * height, bottom: start + (index + 1) * height }
}

function bodyWith(count: number): { doc: Y.Doc; body: Y.XmlFragment } {
  const doc = new Y.Doc()
  const body = doc.getXmlFragment('body')
  body.insert(0, Array.from({ length: count }, () => new Y.XmlElement('paragraph')))
  return { doc, body }
}

describe('topBlock', () => {
  it('finds the first block whose bottom is below the line, and how far into it the line is', () => {
    // Scrolled so block 0 starts 250px above a line at 60px.
    expect(topBlock(10, stacked(10, -190), 60)).toEqual({ index: 2, fraction: 0.5 })
    expect(topBlock(10, stacked(10, 60), 60)).toEqual({ index: 0, fraction: 0 })
  })

  it('counts the page above the first block as that block, and the padding below the last as the last', () => {
    expect(topBlock(3, stacked(3, 300), 60)).toEqual({ index: 0, fraction: 0 })
    expect(topBlock(3, stacked(3, -500), 60)).toEqual({ index: 2, fraction: 1 })
    expect(topBlock(0, stacked(0), 60)).toBeNull()
  })

  it('measures only a logarithmic number of blocks', () => {
    let measured = 0
    const rect = stacked(10_000, -500_000)
    topBlock(10_000, (i) => (measured++, rect(i)), 60)
    expect(measured).toBeLessThanOrEqual(16)
  })

  it('rounds the fraction to hundredths, so tiny scrolls publish nothing new', () => {
    expect(topBlock(1, () => ({ top: 0, bottom: 3 }), 1)?.fraction).toBe(0.33)
  })
})

describe('viewport anchors', () => {
  it('follow their block when blocks are inserted or deleted above it', () => {
    const { doc, body } = bodyWith(10)
    const viewport = anchorViewport(body, 6, 0.25)
    expect(resolveViewport(doc, body, viewport)).toEqual({ index: 6, fraction: 0.25 })
    body.insert(0, [new Y.XmlElement('heading'), new Y.XmlElement('paragraph')])
    expect(resolveViewport(doc, body, viewport)).toEqual({ index: 8, fraction: 0.25 })
    body.delete(0, 5)
    expect(resolveViewport(doc, body, viewport)).toEqual({ index: 3, fraction: 0.25 })
  })

  it('survive the trip through awareness (JSON) to another replica', () => {
    const { doc, body } = bodyWith(5)
    const remote = new Y.Doc()
    Y.applyUpdate(remote, Y.encodeStateAsUpdate(doc))
    const sent = parseViewport(JSON.parse(JSON.stringify(anchorViewport(body, 3, 0.5))))
    expect(sent).not.toBeNull()
    expect(resolveViewport(remote, remote.getXmlFragment('body'), sent!)).toEqual({ index: 3, fraction: 0.5 })
  })

  it('fall back to the published index when the block has not arrived yet, within bounds', () => {
    const { body } = bodyWith(8)
    const viewport = anchorViewport(body, 7, 0)
    const elsewhere = bodyWith(4)
    expect(resolveViewport(elsewhere.doc, elsewhere.body, viewport)).toEqual({ index: 3, fraction: 0 })
  })

  it('resolve to where a deleted block was', () => {
    const { doc, body } = bodyWith(6)
    const viewport = anchorViewport(body, 4, 0.1)
    body.delete(4, 1)
    expect(resolveViewport(doc, body, viewport).index).toBe(4)
  })

  it('are refused when malformed', () => {
    expect(parseViewport(null)).toBeNull()
    expect(parseViewport({ block: 'x', index: 1, fraction: 0 })).toBeNull()
    expect(parseViewport({ block: {}, index: -1, fraction: 0 })).toBeNull()
    expect(parseViewport({ block: {}, index: 1, fraction: Number.NaN })).toBeNull()
    expect(parseViewport({ block: {}, index: 1, fraction: 7 })).toEqual({ block: {}, index: 1, fraction: 1 })
  })

  it('compare by value', () => {
    const { body } = bodyWith(3)
    expect(sameViewport(anchorViewport(body, 1, 0.5), anchorViewport(body, 1, 0.5))).toBe(true)
    expect(sameViewport(anchorViewport(body, 1, 0.5), anchorViewport(body, 2, 0.5))).toBe(false)
    expect(sameViewport(null, null)).toBe(true)
    expect(sameViewport(null, anchorViewport(body, 0, 0))).toBe(false)
  })
})

describe('scrollTargetFor', () => {
  it('puts the same share of the block on the line', () => {
    // Block at 400..600 in the viewport, scrolled 1000: its middle (500) goes to the line at 60.
    expect(scrollTargetFor({ top: 400, bottom: 600 }, 0.5, 60, 1000)).toBe(1440)
    expect(scrollTargetFor({ top: -50, bottom: 50 }, 0, 60, 20)).toBe(0)
  })
})

describe('follow state', () => {
  const run = (events: FollowEvent[], from: FollowState = initialFollowState) => events.reduce(reduceFollow, from)
  const peers = (present: string[], presenters: string[] = []): FollowEvent => ({ type: 'peers', present, presenters })

  it('follows a chosen person until you scroll or type, or they leave', () => {
    let state = run([peers(['ada', 'bob']), { type: 'follow', key: 'ada' }])
    expect(state).toMatchObject({ target: 'ada', reason: 'chosen' })
    expect(run([{ type: 'user-input' }], state).target).toBeNull()
    state = run([peers(['bob'])], state)
    expect(state.target).toBeNull()
  })

  it('follows a new presenter at once, and lets go when the presentation ends', () => {
    let state = run([peers(['ada']), peers(['ada'], ['ada'])])
    expect(state).toMatchObject({ target: 'ada', reason: 'presenter' })
    state = run([peers(['ada'], [])], state)
    expect(state.target).toBeNull()
  })

  it('does not pull you back into a presentation you left, but into the next one', () => {
    let state = run([peers(['ada'], ['ada']), { type: 'stop' }, peers(['ada', 'bob'], ['ada'])])
    expect(state.target).toBeNull()
    expect(state.declined).toEqual(['ada'])
    state = run([peers(['ada', 'bob'], []), peers(['ada', 'bob'], ['ada'])], state)
    expect(state).toMatchObject({ target: 'ada', reason: 'presenter', declined: [] })
  })

  it('never follows while you present, and presenting stops following', () => {
    let state = run([peers(['ada']), { type: 'follow', key: 'ada' }, { type: 'present', on: true }])
    expect(state).toMatchObject({ target: null, presenting: true })
    state = run([peers(['ada'], ['ada'])], state)
    expect(state.target).toBeNull()
    state = run([{ type: 'follow', key: 'ada' }], state)
    expect(state).toMatchObject({ target: 'ada', presenting: false })
  })

  it('keeps following the person you chose when someone else starts presenting', () => {
    const state = run([peers(['ada', 'bob']), { type: 'follow', key: 'bob' }, peers(['ada', 'bob'], ['ada'])])
    expect(state).toMatchObject({ target: 'bob', reason: 'chosen' })
  })

  it('returns the same state object when nothing changed', () => {
    const state = run([peers(['ada'], ['ada'])])
    expect(reduceFollow(state, peers(['ada'], ['ada']))).toBe(state)
    expect(reduceFollow(initialFollowState, { type: 'stop' })).toBe(initialFollowState)
  })
})

describe('awareness follow fields', () => {
  const state = (id: string, name: string, fields: Record<string, unknown> = {}) => ({ user: { id, name, color: '#4263eb' }, ...fields })

  it('are read defensively', () => {
    expect(followFieldsOf(undefined)).toEqual({ viewport: null, focusedPanel: null, presenting: false, following: null })
    expect(followFieldsOf({ presenting: 'yes', focusedPanel: 3, following: '' })).toEqual({ viewport: null, focusedPanel: null, presenting: false, following: null })
    expect(followFieldsOf({ presenting: true, focusedPanel: 'p1', following: 'ada' })).toMatchObject({ presenting: true, focusedPanel: 'p1', following: 'ada' })
  })

  it('tell presenters, followers, and which of several tabs to follow', () => {
    const states = new Map<number, Record<string, unknown>>([
      [1, state('me', 'Me', { presenting: true })],
      [2, state('ada', 'Ada', { following: 'me' })],
      [3, state('bob', 'Bob')],
      [4, state('bob', 'Bob', { presenting: true })],
      [5, state('cy', 'Cy')],
      [6, state('cy', 'Cy')],
    ])
    const people = peersFromAwareness(states, 1, 'me')
    expect(presentersOf(people, states)).toEqual(['bob'])
    expect(followersOf(people, states, 'me').map((p) => p.key)).toEqual(['ada'])
    const bob = people.find((p) => p.key === 'bob')!
    const cy = people.find((p) => p.key === 'cy')!
    // A presenting tab wins; otherwise the tab that changed last.
    expect(leadingClient(bob, states, (id) => (id === 3 ? 100 : 1))).toBe(4)
    expect(leadingClient(cy, states, (id) => (id === 5 ? 100 : 1))).toBe(5)
    expect(leadingClient(cy, states, (id) => (id === 6 ? 100 : 1))).toBe(6)
  })
})
