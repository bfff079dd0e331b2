import { Fragment, Schema, type Node as PmNode } from '@tiptap/pm/model'
import { describe, expect, it } from 'vitest'

import { highlightAll, rehighlight, type HighlightState, type TextAnchor } from '../src/comments/highlights'
import { changedRange } from '../src/editor/changedRange'

const schema = new Schema({
  nodes: {
    doc: { content: 'block+' },
    paragraph: { group: 'block', content: 'inline*', toDOM: () => ['p', 0] },
    text: { group: 'inline' },
  },
})

const paragraph = (text: string) => schema.nodes.paragraph.create(null, text ? schema.text(text) : null)

/** A document of `n` paragraphs "Paragraph i: note i." */
function longDoc(n: number): PmNode {
  return schema.nodes.doc.create(null, Array.from({ length: n }, (_, i) => paragraph(`Paragraph ${i}: note ${i}.`)))
}

/** `doc` with paragraph `index` replaced, sharing every other node, as y-prosemirror builds a remote change. */
function withParagraph(doc: PmNode, index: number, text: string): PmNode {
  const children: PmNode[] = []
  doc.forEach((child, _, i) => children.push(i === index ? paragraph(text) : child))
  return doc.type.create(null, Fragment.from(children))
}

/** Where "note i" is in `doc`, as a resolved anchor would say. */
function findNote(doc: PmNode, i: number): { from: number; to: number } | null {
  let found: { from: number; to: number } | null = null
  doc.descendants((node, pos) => {
    const at = node.isText ? node.text!.search(new RegExp(`note ${i}(?!\\d)`)) : -1
    if (!found && at >= 0) found = { from: pos + at, to: pos + at + `note ${i}`.length }
  })
  return found
}

const anchor = (i: number): TextAnchor => ({ id: `t${i}`, start: new Uint8Array(), end: new Uint8Array() })
/** The paragraph a test anchor is on. */
const noteOf = (a: TextAnchor) => Number(a.id.slice(1))

/** The words each highlight covers, by thread id. */
function highlighted(doc: PmNode, state: HighlightState): Record<string, string> {
  return Object.fromEntries(state.decorations.find().map((d) => [(d.spec as { threadId: string }).threadId, doc.textBetween(d.from, d.to)]))
}

describe('comment highlights after a remote change', () => {
  const anchors = [10, 500, 990].map(anchor)

  it('re-resolve only the threads whose words the change touches', () => {
    const before = longDoc(1000)
    const resolveBefore = (a: TextAnchor) => findNote(before, noteOf(a))
    const state: HighlightState = { anchors, decorations: highlightAll(before, anchors, resolveBefore, null) }
    expect(highlighted(before, state)).toEqual({ t10: 'note 10', t500: 'note 500', t990: 'note 990' })

    // Someone types right after the words of thread t500.
    const after = withParagraph(before, 500, 'Paragraph 500: note 500 and more.')
    const asked: string[] = []
    const next = rehighlight(state, before, after, (a) => (asked.push(a.id), findNote(after, noteOf(a))), null)
    expect(asked).toEqual(['t500'])
    expect(highlighted(after, next)).toEqual({ t10: 'note 10', t500: 'note 500', t990: 'note 990' })
  })

  it('move the highlights by the size of a change beside them, without resolving them', () => {
    const before = longDoc(1000)
    const state: HighlightState = { anchors, decorations: highlightAll(before, anchors, (a) => findNote(before, noteOf(a)), null) }
    // Paragraph 200 grows; so does the start of paragraph 500, before the words of t500.
    const after = withParagraph(withParagraph(before, 200, 'Paragraph 200 grew by several words: note 200.'), 500, 'Edited. Paragraph 500: note 500.')
    const asked: string[] = []
    const next = rehighlight(state, before, after, (a) => (asked.push(a.id), findNote(after, noteOf(a))), null)
    expect(asked).toEqual([])
    expect(highlighted(after, next)).toEqual({ t10: 'note 10', t500: 'note 500', t990: 'note 990' })
  })

  it('try again the threads that had no highlight (their words may be back)', () => {
    const before = longDoc(100)
    const gone = withParagraph(before, 50, 'Paragraph 50: deleted.')
    const resolve = (doc: PmNode) => (a: TextAnchor) => findNote(doc, noteOf(a))
    const fifty = [anchor(50)]
    const state: HighlightState = { anchors: fifty, decorations: highlightAll(gone, fifty, resolve(gone), null) }
    expect(highlighted(gone, state)).toEqual({})
    const back = withParagraph(gone, 50, 'Paragraph 50: note 50.')
    expect(highlighted(back, rehighlight(state, gone, back, resolve(back), null))).toEqual({ t50: 'note 50' })
  })

  it('leave everything as it was when the document did not change', () => {
    const doc = longDoc(10)
    const state: HighlightState = { anchors, decorations: highlightAll(doc, [], () => null, null) }
    expect(rehighlight(state, doc, doc, () => null, null)).toBe(state)
  })
})

describe('changedRange', () => {
  it('is the replaced part of the document, in both versions', () => {
    const before = longDoc(3)
    const after = withParagraph(before, 1, 'Paragraph 1: note 1, longer.')
    const range = changedRange(before, after)!
    expect(before.textBetween(0, range.start)).toBe(after.textBetween(0, range.start))
    expect(before.textBetween(range.endBefore, before.content.size)).toBe(after.textBetween(range.endAfter, after.content.size))
    expect(after.textBetween(range.start, range.endAfter)).toBe(', longer')
    expect(range.endBefore).toBe(range.start)
    expect(changedRange(before, before)).toBeNull()
  })

  it('handles repeated text at the change', () => {
    const before = schema.nodes.doc.create(null, [paragraph('aa')])
    const after = schema.nodes.doc.create(null, [paragraph('aaa')])
    const range = changedRange(before, after)!
    expect(range.endAfter - range.start - (range.endBefore - range.start)).toBe(1)
    expect(range.start).toBeLessThanOrEqual(Math.min(range.endBefore, range.endAfter))
  })
})
