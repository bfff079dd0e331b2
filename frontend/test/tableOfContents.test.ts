import { getSchema, type JSONContent } from '@tiptap/core'
import { Fragment, Slice, type Node as PmNode } from '@tiptap/pm/model'
import { EditorState } from '@tiptap/pm/state'
import { describe, expect, it, vi } from 'vitest'

import { changedRange, touchesNode } from '../src/editor/changedRange'
import { blockExtensions } from '../src/editor/extensions'
import { HEADING_ID_PREFIX, tableOfContentsPlugin, tocEntriesOf, tocPluginKey, touchesHeading } from '../src/editor/tableOfContents'
import * as tocEntries from '../src/editor/tocEntries'

// Counts how often the plugin collects the headings (the walk a keystroke should not pay for).
vi.mock('../src/editor/tocEntries', async (original) => {
  const actual = await original<typeof import('../src/editor/tocEntries')>()
  return { ...actual, collectHeadings: vi.fn(actual.collectHeadings) }
})
const collectHeadings = vi.mocked(tocEntries.collectHeadings)

const schema = getSchema(blockExtensions())
const heading = (level: number, text: string): JSONContent => ({ type: 'heading', attrs: { level }, content: [{ type: 'text', text }] })
const paragraph = (text: string): JSONContent => ({ type: 'paragraph', content: [{ type: 'text', text }] })
const docOf = (...content: JSONContent[]) => schema.nodeFromJSON({ type: 'doc', content })

/** The heading ids the plugin's decorations give, with the text of the heading each sits on. */
function ids(state: EditorState): [string, string][] {
  return tocPluginKey
    .getState(state)!
    .decorations.find()
    .map((d) => [(d as unknown as { type: { attrs: { id: string } } }).type.attrs.id, state.doc.nodeAt(d.from)!.textContent])
}

/** `doc` with top-level child `index` replaced, every other node shared: how y-prosemirror builds a remote change. */
function withChild(doc: PmNode, index: number, json: JSONContent): PmNode {
  const children: PmNode[] = []
  doc.forEach((child, _, i) => children.push(i === index ? schema.nodeFromJSON(json) : child))
  return doc.type.create(null, Fragment.from(children))
}

/** A remote change as y-prosemirror dispatches it: one step replacing the whole document. */
function remote(state: EditorState, next: PmNode): EditorState {
  return state.apply(state.tr.replace(0, state.doc.content.size, new Slice(next.content, 0, 0)))
}

describe('collectHeadings', () => {
  it('does not walk into paragraphs and other textblocks', () => {
    const doc = docOf(heading(1, 'Top'), paragraph('some text'), { type: 'blockquote', content: [paragraph('quoted'), heading(2, 'Inner')] })
    const visited: string[] = []
    const walk = doc.descendants.bind(doc)
    doc.descendants = (f) => walk((node, ...rest) => (visited.push(node.type.name), f(node, ...rest)))
    expect(tocEntries.collectHeadings(doc).map((entry) => entry.anchor)).toEqual(['top', 'inner'])
    expect(visited).not.toContain('text')
  })
})

describe('touchesHeading', () => {
  const before = docOf(paragraph('intro'), heading(2, 'Setup'), paragraph('body'))
  const check = (after: PmNode) => touchesHeading(before, after, changedRange(before, after)!)

  it('is false for a change in a paragraph', () => {
    expect(check(withChild(before, 2, paragraph('body text')))).toBe(false)
    expect(check(withChild(before, 0, paragraph('intro text')))).toBe(false)
  })

  it('is true when a heading is edited, added, removed or changes level', () => {
    expect(check(withChild(before, 1, heading(2, 'Setup!')))).toBe(true)
    expect(check(withChild(before, 1, heading(3, 'Setup')))).toBe(true)
    expect(check(withChild(before, 2, heading(1, 'body')))).toBe(true)
    expect(check(docOf(paragraph('intro'), paragraph('body')))).toBe(true)
  })

  it('touchesNode looks only near the range', () => {
    const doc = docOf(paragraph('a'), paragraph('b'), heading(1, 'c'))
    const isHeading = (node: PmNode) => node.type.name === 'heading'
    expect(touchesNode(doc, 1, 2, isHeading)).toBe(false)
    expect(touchesNode(doc, 7, 8, isHeading)).toBe(true)
  })
})

describe('the table of contents plugin', () => {
  const start = () =>
    EditorState.create({
      schema,
      doc: docOf(paragraph('intro'), heading(2, 'Setup'), paragraph('body'), heading(2, 'Results'), paragraph('end')),
      plugins: [tableOfContentsPlugin()],
    })

  it('does not collect the headings again for typing away from them, and keeps the ids on the headings', () => {
    let state = start()
    const entries = tocEntriesOf(state)
    collectHeadings.mockClear()
    state = state.apply(state.tr.insertText('more ', 1))
    state = remote(state, withChild(state.doc, 2, paragraph('body, edited elsewhere')))
    expect(collectHeadings).not.toHaveBeenCalled()
    expect(tocEntriesOf(state)).toBe(entries)
    expect(ids(state)).toEqual([
      [`${HEADING_ID_PREFIX}setup`, 'Setup'],
      [`${HEADING_ID_PREFIX}results`, 'Results'],
    ])
  })

  it('collects them again when a heading changes, locally or remotely', () => {
    let state = start()
    collectHeadings.mockClear()
    state = remote(state, withChild(state.doc, 3, heading(2, 'Setup')))
    expect(collectHeadings).toHaveBeenCalledTimes(1)
    expect(tocEntriesOf(state).map((entry) => entry.anchor)).toEqual(['setup', 'setup-1'])
    expect(ids(state).map(([id]) => id)).toEqual([`${HEADING_ID_PREFIX}setup`, `${HEADING_ID_PREFIX}setup-1`])

    const at = tocEntriesOf(state)[0].pos
    state = state.apply(state.tr.insertText(' up', at + 1 + 'Setup'.length))
    expect(tocEntriesOf(state).map((entry) => entry.text)).toEqual(['Setup up', 'Setup'])
    expect(ids(state)).toEqual([
      [`${HEADING_ID_PREFIX}setup-up`, 'Setup up'],
      [`${HEADING_ID_PREFIX}setup`, 'Setup'],
    ])
  })
})
