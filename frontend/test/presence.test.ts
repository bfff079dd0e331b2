import { describe, expect, it } from 'vitest'

import { PendingEdits } from '../src/pendingEdits'
import { peersFromAwareness } from '../src/presence'
import { MemoryStorage } from './memoryStorage'

const user = (id: string, name: string, color = '#4263eb') => ({ user: { id, name, color } })

describe('peersFromAwareness', () => {
  it('lists yourself first, then others by name', () => {
    const states = new Map<number, Record<string, unknown>>([
      [3, user('u-zoe', 'Zoe')],
      [1, user('u-me', 'Me')],
      [2, user('u-al', 'Al')],
    ])
    const peers = peersFromAwareness(states, 1, 'u-me')
    expect(peers.map((p) => [p.name, p.isSelf])).toEqual([
      ['Me', true],
      ['Al', false],
      ['Zoe', false],
    ])
  })

  it('merges one person’s several tabs', () => {
    const states = new Map<number, Record<string, unknown>>([
      [1, user('u-me', 'Me')],
      [7, user('u-al', 'Al')],
      [8, user('u-al', 'Al')],
      [9, user('u-me', 'Me')],
    ])
    const peers = peersFromAwareness(states, 1, 'u-me')
    expect(peers).toHaveLength(2)
    expect(peers[0]).toMatchObject({ key: 'u-me', clientIds: [1, 9] })
    expect(peers[1]).toMatchObject({ key: 'u-al', clientIds: [7, 8] })
  })

  it('skips clients without a name and sanitises colours', () => {
    const states = new Map<number, Record<string, unknown>>([
      [1, {}],
      [2, { cursor: { anchor: 1 } }],
      [3, { user: { name: 'No id', color: 'javascript:alert(1)' } }],
    ])
    const peers = peersFromAwareness(states, 1, 'u-me')
    expect(peers).toEqual([{ key: 'client:3', name: 'No id', color: '#868e96', isSelf: false, clientIds: [3] }])
  })
})

describe('PendingEdits', () => {
  it('is pending after an unsynced local edit until the next sync', () => {
    const storage = new MemoryStorage()
    const pending = new PendingEdits(storage, 'r1')
    const seen: boolean[] = []
    pending.onChange((value) => seen.push(value))

    pending.localEdit(true)
    expect(pending.pending).toBe(false)
    pending.localEdit(false)
    pending.localEdit(false)
    expect(pending.pending).toBe(true)
    pending.synced()
    expect(pending.pending).toBe(false)
    expect(seen).toEqual([true, false])
  })

  it('remembers pending edits across a reload, per report', () => {
    const storage = new MemoryStorage()
    new PendingEdits(storage, 'r1').localEdit(false)
    expect(new PendingEdits(storage, 'r1').pending).toBe(true)
    expect(new PendingEdits(storage, 'r2').pending).toBe(false)
    new PendingEdits(storage, 'r1').synced()
    expect(new PendingEdits(storage, 'r1').pending).toBe(false)
  })
})
