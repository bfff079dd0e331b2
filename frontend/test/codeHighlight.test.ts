import { getSchema, type JSONContent } from '@tiptap/core'
import { Fragment, Slice, type Node as PmNode } from '@tiptap/pm/model'
import { EditorState } from '@tiptap/pm/state'
import { describe, expect, it } from 'vitest'

import { codeHighlightKey, codeHighlightPlugin, decorateBlock, type Lowlight } from '../src/editor/codeHighlight'
import { blockExtensions } from '../src/editor/extensions'
import { lowlight } from '../src/editor/lowlight'

const schema = getSchema(blockExtensions())
const code = (language: string | null, text: string): JSONContent => ({ type: 'codeBlock', attrs: { language }, content: [{ type: 'text', text }] })
const paragraph = (text: string): JSONContent => ({ type: 'paragraph', content: [{ type: 'text', text }] })
const docOf = (...content: JSONContent[]) => schema.nodeFromJSON({ type: 'doc', content })

/** lowlight that records the text of every block it highlights. */
function counting(): { highlighter: Lowlight; seen: string[] } {
  const seen: string[] = []
  const highlighter: Lowlight = {
    ...lowlight,
    highlight: (language, text, options) => (seen.push(text), lowlight.highlight(language, text, options)),
    highlightAuto: (text, options) => (seen.push(text), lowlight.highlightAuto(text, options)),
  }
  return { highlighter, seen }
}

/** The decorations as comparable facts: where, and which classes. */
function colours(state: EditorState): string[] {
  return codeHighlightKey
    .getState(state)!
    .decorations.find()
    .map((d) => `${d.from}-${d.to}:${(d as unknown as { type: { attrs: { class: string } } }).type.attrs.class}`)
    .sort()
}

/** What highlighting the whole document from scratch gives. */
function fromScratch(doc: PmNode): string[] {
  const fresh = EditorState.create({ schema, doc, plugins: [codeHighlightPlugin({ name: 'codeBlock', highlighter: () => lowlight, load: async () => {} })] })
  return colours(fresh)
}

function withChild(doc: PmNode, index: number, json: JSONContent): PmNode {
  const children: PmNode[] = []
  doc.forEach((child, _, i) => children.push(i === index ? schema.nodeFromJSON(json) : child))
  return doc.type.create(null, Fragment.from(children))
}

const start = () =>
  docOf(
    code('python', 'def one():\n    return 1'),
    paragraph('between'),
    code('javascript', 'const two = 2'),
    paragraph('and'),
    code(null, '<p class="three">3</p>'),
  )

describe('decorateBlock', () => {
  it('colours the tokens of a block at their positions', () => {
    const doc = docOf(code('python', 'def f(): pass'))
    const found = decorateBlock(lowlight, doc.child(0), 0).map((d) => [doc.textBetween(d.from, d.to), (d as unknown as { type: { attrs: { class: string } } }).type.attrs.class])
    expect(found).toContainEqual(['def', 'hljs-keyword'])
    expect(found).toContainEqual(['f', 'hljs-title function_'])
  })
})

describe('the code highlighting plugin', () => {
  it('highlights only the code block an edit touches', () => {
    const { highlighter, seen } = counting()
    let state = EditorState.create({ schema, doc: start(), plugins: [codeHighlightPlugin({ name: 'codeBlock', highlighter: () => highlighter, load: async () => {} })] })
    expect(seen).toHaveLength(3)
    seen.length = 0

    // Typing in the second block.
    const at = state.doc.child(0).nodeSize + state.doc.child(1).nodeSize + 1 + 'const two'.length
    state = state.apply(state.tr.insertText('_b', at))
    expect(seen).toEqual(['const two_b = 2'])
    expect(colours(state)).toEqual(fromScratch(state.doc))

    // Typing in a paragraph highlights nothing; the colours move.
    seen.length = 0
    state = state.apply(state.tr.insertText('text ', 1 + state.doc.child(0).nodeSize))
    expect(seen).toEqual([])
    expect(colours(state)).toEqual(fromScratch(state.doc))
  })

  it('highlights only the changed block after a remote change that replaces the whole document', () => {
    const { highlighter, seen } = counting()
    let state = EditorState.create({ schema, doc: start(), plugins: [codeHighlightPlugin({ name: 'codeBlock', highlighter: () => highlighter, load: async () => {} })] })
    seen.length = 0
    const next = withChild(state.doc, 4, code('xml', '<p class="three">three</p>'))
    state = state.apply(state.tr.replace(0, state.doc.content.size, new Slice(next.content, 0, 0)))
    expect(seen).toEqual(['<p class="three">three</p>'])
    expect(colours(state)).toEqual(fromScratch(state.doc))

    // A language change is a change of that block.
    seen.length = 0
    state = state.apply(state.tr.setNodeAttribute(0, 'language', 'ruby'))
    expect(seen).toEqual(['def one():\n    return 1'])
    expect(colours(state)).toEqual(fromScratch(state.doc))
  })

  it('waits for the grammars, then colours every block', () => {
    let loaded: Lowlight | null = null
    const plugin = codeHighlightPlugin({ name: 'codeBlock', highlighter: () => loaded, load: async () => {} })
    let state = EditorState.create({ schema, doc: start(), plugins: [plugin] })
    expect(codeHighlightKey.getState(state)).toMatchObject({ waiting: true })
    expect(colours(state)).toEqual([])

    loaded = lowlight
    state = state.apply(state.tr.setMeta(codeHighlightKey, 'loaded'))
    expect(codeHighlightKey.getState(state)).toMatchObject({ waiting: false })
    expect(colours(state)).toEqual(fromScratch(state.doc))
  })

  it('does not ask for the grammars when there is no code', () => {
    const state = EditorState.create({ schema, doc: docOf(paragraph('no code here')), plugins: [codeHighlightPlugin({ name: 'codeBlock', highlighter: () => null, load: async () => {} })] })
    expect(codeHighlightKey.getState(state)).toMatchObject({ waiting: false })
  })
})
