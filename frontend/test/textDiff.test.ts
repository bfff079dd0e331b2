import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'

import { diffText, mapPosition, type TextChange } from '../src/textDiff'

function applyChange(text: string, change: TextChange | null): string {
  if (!change) return text
  return text.slice(0, change.index) + change.insert + text.slice(change.index + change.remove)
}

describe('diffText', () => {
  it('returns null when nothing changed', () => {
    expect(diffText('same', 'same')).toBeNull()
  })

  it('finds a single insertion in the middle', () => {
    expect(diffText('Hello world', 'Hello, world', 6)).toEqual({ index: 5, remove: 0, insert: ',' })
  })

  it('finds a deletion', () => {
    expect(diffText('Hello, world', 'Hello world', 5)).toEqual({ index: 5, remove: 1, insert: '' })
  })

  it('finds a replacement of a selection', () => {
    expect(diffText('the quick fox', 'the slow fox', 8)).toEqual({ index: 4, remove: 5, insert: 'slow' })
  })

  it('uses the caret to place an ambiguous insertion', () => {
    // Typing "a" at the start of "aa" versus at the end gives the same string.
    expect(diffText('aa', 'aaa', 1)).toEqual({ index: 0, remove: 0, insert: 'a' })
    expect(diffText('aa', 'aaa', 3)).toEqual({ index: 2, remove: 0, insert: 'a' })
    expect(diffText('aa', 'aaa', 2)).toEqual({ index: 1, remove: 0, insert: 'a' })
  })

  it('uses the caret to place an ambiguous deletion', () => {
    expect(diffText('aaa', 'aa', 0)).toEqual({ index: 0, remove: 1, insert: '' })
    expect(diffText('aaa', 'aa', 2)).toEqual({ index: 2, remove: 1, insert: '' })
  })

  it('ignores a caret outside the new text', () => {
    expect(diffText('ab', 'abc', 99)).toEqual({ index: 2, remove: 0, insert: 'c' })
  })

  it('never splits a surrogate pair', () => {
    // U+1F600 and U+1F601 share their high surrogate.
    const change = diffText('x\u{1F600}y', 'x\u{1F601}y')
    expect(change).toEqual({ index: 1, remove: 2, insert: '\u{1F601}' })
  })

  it.each([
    ['', 'new title'],
    ['old title', ''],
    ['Results: run 12', 'Results of run 12 (final)'],
    ['abcabc', 'abc'],
    ['🙂 emoji 🙂', '🙂 emojis 🙃'],
  ])('turns %j into %j', (before, after) => {
    expect(applyChange(before, diffText(before, after))).toBe(after)
  })

  it('interleaves with a concurrent remote edit instead of overwriting it', () => {
    const alice = new Y.Doc()
    const bob = new Y.Doc()
    alice.getText('title').insert(0, 'Weekly report')
    Y.applyUpdate(bob, Y.encodeStateAsUpdate(alice))

    // Alice types at the end while Bob types at the start, each from their own field value.
    const aText = alice.getText('title')
    const aChange = diffText('Weekly report', 'Weekly report v2', 16)!
    aText.insert(aChange.index, aChange.insert)
    const bText = bob.getText('title')
    const bChange = diffText('Weekly report', 'Draft: Weekly report', 7)!
    bText.insert(bChange.index, bChange.insert)

    Y.applyUpdate(alice, Y.encodeStateAsUpdate(bob))
    Y.applyUpdate(bob, Y.encodeStateAsUpdate(alice))
    expect(aText.toString()).toBe('Draft: Weekly report v2')
    expect(bText.toString()).toBe('Draft: Weekly report v2')
  })
})

describe('mapPosition', () => {
  it('moves a caret after an insertion before it', () => {
    expect(mapPosition(5, [{ insert: 'abc' }])).toBe(8)
    expect(mapPosition(5, [{ retain: 2 }, { insert: 'abc' }])).toBe(8)
  })

  it('keeps a caret before an insertion after it', () => {
    expect(mapPosition(2, [{ retain: 4 }, { insert: 'abc' }])).toBe(2)
  })

  it('keeps a caret in place for an insertion exactly at it unless asked', () => {
    expect(mapPosition(3, [{ retain: 3 }, { insert: 'xy' }])).toBe(3)
    expect(mapPosition(3, [{ retain: 3 }, { insert: 'xy' }], true)).toBe(5)
  })

  it('moves a caret back for a deletion before it', () => {
    expect(mapPosition(6, [{ retain: 1 }, { delete: 2 }])).toBe(4)
  })

  it('moves a caret inside a deleted range to its start', () => {
    expect(mapPosition(4, [{ retain: 2 }, { delete: 5 }])).toBe(2)
  })

  it('follows a real Y.Text delta', () => {
    const doc = new Y.Doc()
    const text = doc.getText('t')
    text.insert(0, 'hello world')
    let mapped = -1
    text.observe((event) => {
      mapped = mapPosition(8, event.delta)
    })
    doc.transact(() => {
      text.delete(0, 6) // "world"
      text.insert(0, 'big ') // "big world"
    })
    // The caret was in "wo|rld" and stays there.
    expect(mapped).toBe(6)
    expect(text.toString().slice(0, mapped)).toBe('big wo')
  })
})
