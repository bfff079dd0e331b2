import { getSchema, type JSONContent } from '@tiptap/core'
import { EditorState } from '@tiptap/pm/state'
import { describe, expect, it } from 'vitest'

import { blockExtensions } from '../src/editor/extensions'
import { HEADING_ID_PREFIX, tableOfContentsPlugin, tocEntriesOf, tocPluginKey } from '../src/editor/tableOfContents'
import { collectHeadings, slug } from '../src/editor/tocEntries'

const schema = getSchema(blockExtensions())
const heading = (level: number, text: string): JSONContent => ({ type: 'heading', attrs: { level }, content: text ? [{ type: 'text', text }] : [] })
const docOf = (...content: JSONContent[]) => schema.nodeFromJSON({ type: 'doc', content })

describe('slug', () => {
  // The same anchors as the server's exports (coreport.reports.render.slug).
  it('makes GitHub-style anchors', () => {
    expect(slug('Results & Next Steps!')).toBe('results--next-steps')
    expect(slug('  Über-Größe 2 ')).toBe('über-größe-2')
    expect(slug('snake_case and ＡＢＣ')).toBe('snake_case-and-abc')
    expect(slug('???')).toBe('')
  })
})

describe('collectHeadings', () => {
  it('lists headings in order with unique anchors, nested ones too', () => {
    const doc = docOf(
      heading(1, 'Results'),
      { type: 'paragraph', content: [{ type: 'text', text: 'text' }] },
      heading(2, 'Results'),
      heading(3, ''),
      { type: 'blockquote', content: [heading(2, 'Quoted')] },
      heading(2, 'Results'),
    )
    expect(collectHeadings(doc).map(({ level, text, anchor }) => ({ level, text, anchor }))).toEqual([
      { level: 1, text: 'Results', anchor: 'results' },
      { level: 2, text: 'Results', anchor: 'results-1' },
      { level: 3, text: '', anchor: 'section' },
      { level: 2, text: 'Quoted', anchor: 'quoted' },
      { level: 2, text: 'Results', anchor: 'results-2' },
    ])
    const first = collectHeadings(doc)[0]
    expect(doc.nodeAt(first.pos)?.type.name).toBe('heading')
  })
})

describe('the table of contents plugin', () => {
  it('follows heading edits and keeps its entries while only positions move', () => {
    let state = EditorState.create({ schema, doc: docOf({ type: 'paragraph' }, heading(2, 'Setup'), { type: 'tableOfContents' }), plugins: [tableOfContentsPlugin()] })
    const before = tocEntriesOf(state)
    expect(before.map((entry) => entry.text)).toEqual(['Setup'])

    // Typing in the paragraph above moves the heading but changes nothing a reader sees.
    state = state.apply(state.tr.insertText('intro', 1))
    expect(tocEntriesOf(state)).toBe(before)

    // Renaming the heading does.
    const at = collectHeadings(state.doc)[0].pos
    state = state.apply(state.tr.insertText(' and data', at + 1 + 'Setup'.length))
    expect(tocEntriesOf(state).map((entry) => entry.anchor)).toEqual(['setup-and-data'])

    const decorations = tocPluginKey.getState(state)!.decorations.find()
    expect(decorations).toHaveLength(1)
    expect((decorations[0] as unknown as { type: { attrs: Record<string, string> } }).type.attrs.id).toBe(`${HEADING_ID_PREFIX}setup-and-data`)
  })
})
