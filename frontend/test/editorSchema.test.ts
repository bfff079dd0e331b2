import { readFileSync } from 'node:fs'

import { getSchema } from '@tiptap/core'
import { prosemirrorToYDoc, yXmlFragmentToProseMirrorRootNode } from '@tiptap/y-tiptap'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'

import { blockExtensions } from '../src/editor/extensions'
import { PanelGrid } from '../src/panels/panelGrid'

// The report page's schema: the blocks plus panel grids (collaboration and comments add no nodes).
const schema = getSchema([...blockExtensions({ insertPanelGrid: () => {} }), PanelGrid])

/** The document the server's tests take as "what the editor stores" (tests/unit/reports/fixtures). */
const fixture = JSON.parse(readFileSync(new URL('../../tests/unit/reports/fixtures/tiptap_doc.json', import.meta.url), 'utf8')) as {
  prosemirror: Record<string, unknown>
  update: string
}

describe('the editor schema against docs/document-schema.md', () => {
  it('declares every node with the attributes and defaults the server reads and writes', () => {
    const attrs = (name: string) =>
      Object.fromEntries(Object.entries(schema.nodes[name].spec.attrs ?? {}).map(([key, spec]) => [key, (spec as { default?: unknown }).default]))
    expect(attrs('image')).toEqual({ src: null, alt: null, title: null, width: null, height: null })
    expect(attrs('blockMath')).toEqual({ latex: '' })
    expect(attrs('inlineMath')).toEqual({ latex: '' })
    expect(attrs('callout')).toEqual({ kind: 'note' })
    expect(attrs('codeBlock')).toEqual({ language: null })
    expect(attrs('markdownBlock')).toEqual({ source: '' })
    expect(attrs('tableOfContents')).toEqual({})
    expect(attrs('panelGrid')).toEqual({ gridId: null })
    expect(schema.nodes.callout.spec.content).toBe('inline*')
    expect(schema.nodes.image.isBlock && schema.nodes.image.isAtom).toBe(true)
    expect(schema.nodes.blockMath.isBlock && schema.nodes.blockMath.isAtom).toBe(true)
    expect(schema.nodes.inlineMath.isInline && schema.nodes.inlineMath.isAtom).toBe(true)
    expect(schema.nodes.tableOfContents.isBlock && schema.nodes.tableOfContents.isAtom).toBe(true)
    expect(Object.keys(schema.marks).sort()).toEqual(['bold', 'code', 'italic', 'link', 'strike', 'underline'])
  })

  it('reads the reference document without dropping a node (y-prosemirror deletes what a schema rejects)', () => {
    const ydoc = new Y.Doc()
    Y.applyUpdate(ydoc, Buffer.from(fixture.update, 'base64'))
    const body = ydoc.getXmlFragment('body')
    const stored = body.toJSON()
    const blocks = body.length

    const node = yXmlFragmentToProseMirrorRootNode(body, schema)
    node.check()

    expect(body.toJSON()).toBe(stored)
    expect(node.childCount).toBe(blocks)
    expect(node.toJSON()).toEqual(schema.nodeFromJSON(fixture.prosemirror).toJSON())
  })

  it('stores its blocks exactly as the reference document does', () => {
    const ours = prosemirrorToYDoc(schema.nodeFromJSON(fixture.prosemirror), 'body').getXmlFragment('body')
    const reference = new Y.Doc()
    Y.applyUpdate(reference, Buffer.from(fixture.update, 'base64'))
    expect(ours.toJSON()).toBe(reference.getXmlFragment('body').toJSON())
  })
})
