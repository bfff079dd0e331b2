import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'

import {
  createThread,
  deleteComment,
  editComment,
  listThreads,
  reply,
  setResolved,
  threadsOf,
  toggleReaction,
  type Clock,
} from '../src/comments/model'

function fakeClock(): Clock {
  let tick = 0
  let id = 0
  return {
    now: () => new Date(Date.UTC(2024, 4, 1, 9, 30, 0, tick++)),
    newId: () => `id${id++}`,
  }
}

/** Two replicas that exchange every update, as two browsers through the server. */
function pair(): [Y.Doc, Y.Doc] {
  const a = new Y.Doc()
  const b = new Y.Doc()
  a.on('update', (u: Uint8Array, origin: unknown) => origin !== 'remote' && Y.applyUpdate(b, u, 'remote'))
  b.on('update', (u: Uint8Array, origin: unknown) => origin !== 'remote' && Y.applyUpdate(a, u, 'remote'))
  return [a, b]
}

describe('comment threads', () => {
  it('store the documented layout', () => {
    const doc = new Y.Doc()
    const id = createThread(doc, { anchor: { kind: 'report' }, author: 'u1', text: 'Looks good' }, fakeClock())
    const thread = threadsOf(doc).get(id)!
    expect(thread.get('anchor')).toEqual({ kind: 'report' })
    expect(thread.get('resolved')).toBe(false)
    expect(thread.get('resolved_by')).toBeNull()
    expect(thread.get('created_by')).toBe('u1')
    expect(thread.get('created_at')).toBe('2024-05-01T09:30:00.000Z')
    const comment = (thread.get('comments') as Y.Array<Y.Map<unknown>>).get(0)
    expect(comment.toJSON()).toEqual({
      id: 'id1',
      author: 'u1',
      text: 'Looks good',
      mentions: [],
      created_at: '2024-05-01T09:30:00.001Z',
      edited_at: null,
      deleted: false,
      reactions: {},
    })
  })

  it('keep text anchors as bytes', () => {
    const doc = new Y.Doc()
    const anchor = { kind: 'text' as const, rel_start: new Uint8Array([1, 2]), rel_end: new Uint8Array([3]), quote: 'fox' }
    createThread(doc, { anchor, author: 'u1', text: 'x' })
    const copy = new Y.Doc()
    Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc))
    const [thread] = listThreads(copy)
    expect(thread.anchor).toEqual(anchor)
    expect((thread.anchor as { rel_start: unknown }).rel_start).toBeInstanceOf(Uint8Array)
  })

  it('reply, resolve, reopen and filter', () => {
    const doc = new Y.Doc()
    const clock = fakeClock()
    const id = createThread(doc, { anchor: { kind: 'panel', panel_id: 'p1' }, author: 'u1', text: 'Why the spike?' }, clock)
    reply(doc, id, 'u2', 'A bad batch.', clock)
    expect(listThreads(doc, 'open')[0].comments.map((c) => [c.author, c.text])).toEqual([
      ['u1', 'Why the spike?'],
      ['u2', 'A bad batch.'],
    ])
    setResolved(doc, id, true, 'u2', clock)
    expect(listThreads(doc, 'open')).toEqual([])
    const [resolved] = listThreads(doc, 'resolved')
    expect([resolved.resolvedBy, resolved.resolvedAt]).toEqual(['u2', '2024-05-01T09:30:00.003Z'])
    setResolved(doc, id, false, 'u1', clock)
    expect(listThreads(doc, 'open')[0].resolvedBy).toBeNull()
  })

  it('let only the author edit or delete a comment; deleting keeps a tombstone', () => {
    const doc = new Y.Doc()
    const clock = fakeClock()
    const id = createThread(doc, { anchor: { kind: 'report' }, author: 'u1', text: 'tpyo' }, clock)
    const commentId = listThreads(doc)[0].comments[0].id
    expect(() => editComment(doc, id, commentId, 'u2', 'hijack')).toThrow(/author/)
    editComment(doc, id, commentId, 'u1', 'typo', clock)
    let [comment] = listThreads(doc)[0].comments
    expect([comment.text, comment.editedAt !== null]).toEqual(['typo', true])
    expect(() => deleteComment(doc, id, commentId, 'u2')).toThrow(/author/)
    deleteComment(doc, id, commentId, 'u1')
    ;[comment] = listThreads(doc)[0].comments
    expect([comment.text, comment.deleted]).toEqual(['', true])
  })

  it('merge concurrent reactions of different people and toggle one’s own', () => {
    const [a, b] = pair()
    const id = createThread(a, { anchor: { kind: 'report' }, author: 'u1', text: 'Ship it' })
    const commentId = listThreads(b)[0].comments[0].id
    toggleReaction(a, id, commentId, 'u1', '👍')
    toggleReaction(b, id, commentId, 'u2', '👍')
    toggleReaction(b, id, commentId, 'u2', '🎉')
    expect(listThreads(a)[0].comments[0].reactions).toEqual(
      new Map([
        ['👍', ['u1', 'u2']],
        ['🎉', ['u2']],
      ]),
    )
    toggleReaction(b, id, commentId, 'u2', '👍')
    expect(listThreads(a)[0].comments[0].reactions.get('👍')).toEqual(['u1'])
  })

  it('list oldest first and skip malformed entries', () => {
    const doc = new Y.Doc()
    const clock = fakeClock()
    const first = createThread(doc, { anchor: { kind: 'report' }, author: 'u1', text: 'one' }, clock)
    const second = createThread(doc, { anchor: { kind: 'report' }, author: 'u1', text: 'two' }, clock)
    threadsOf(doc).set('broken', new Y.Map())
    expect(listThreads(doc).map((t) => t.id)).toEqual([first, second])
  })
})
