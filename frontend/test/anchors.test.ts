import { Schema } from '@tiptap/pm/model'
import { initProseMirrorDoc } from '@tiptap/y-tiptap'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'

import { asBytes, encodeAnchor, resolveAnchor, type Binding } from '../src/comments/anchors'

const schema = new Schema({
  nodes: {
    doc: { content: 'block+' },
    paragraph: { group: 'block', content: 'inline*', toDOM: () => ['p', 0] },
    text: { group: 'inline' },
  },
})

/** A body with one paragraph per string, as y-prosemirror stores it. */
function body(...paragraphs: string[]): { ydoc: Y.Doc; fragment: Y.XmlFragment; texts: Y.XmlText[] } {
  const ydoc = new Y.Doc()
  const fragment = ydoc.getXmlFragment('body')
  const texts = paragraphs.map((p) => new Y.XmlText(p))
  fragment.insert(
    0,
    texts.map((text) => {
      const element = new Y.XmlElement('paragraph')
      element.insert(0, [text])
      return element
    }),
  )
  return { ydoc, fragment, texts }
}

/** What the editor shows now, and the binding to resolve against it. */
function view(ydoc: Y.Doc, fragment: Y.XmlFragment): { text: (from: number, to: number) => string; binding: Binding } {
  const { doc, mapping } = initProseMirrorDoc(fragment, schema)
  return { text: (from, to) => doc.textBetween(from, to), binding: { doc: ydoc, type: fragment, mapping } }
}

function anchorOn(ydoc: Y.Doc, fragment: Y.XmlFragment, words: string) {
  const before = view(ydoc, fragment)
  const { doc } = initProseMirrorDoc(fragment, schema)
  let from = -1
  doc.descendants((node, pos) => {
    const at = node.isText ? node.text!.indexOf(words) : -1
    if (from < 0 && at >= 0) from = pos + at
  })
  expect(from).toBeGreaterThan(0)
  return encodeAnchor(before.binding, from, from + words.length)
}

describe('text anchors', () => {
  it('resolve to the same words after edits before, inside the paragraph and after', () => {
    const { ydoc, fragment, texts } = body('Intro.', 'The quick brown fox jumps.')
    const anchor = anchorOn(ydoc, fragment, 'brown fox')

    texts[1].insert(0, 'Yesterday ') // before, same paragraph
    texts[1].delete('Yesterday The '.length, 'quick '.length) // just before the words
    texts[1].insert(texts[1].length, ' Over the dog.') // after
    fragment.insert(0, [new Y.XmlElement('paragraph')]) // a new block above

    const now = view(ydoc, fragment)
    const range = resolveAnchor(now.binding, anchor.rel_start, anchor.rel_end)
    expect(range).not.toBeNull()
    expect(now.text(range!.from, range!.to)).toBe('brown fox')
  })

  it('resolve the same on another replica that received the edits', () => {
    const { ydoc, fragment, texts } = body('The quick brown fox.')
    const anchor = anchorOn(ydoc, fragment, 'quick')
    texts[0].insert(0, '>> ')
    const other = new Y.Doc()
    Y.applyUpdate(other, Y.encodeStateAsUpdate(ydoc))
    const otherFragment = other.getXmlFragment('body')
    const there = view(other, otherFragment)
    const range = resolveAnchor(there.binding, asBytes(Array.from(anchor.rel_start))!, asBytes(anchor.rel_end)!)
    expect(there.text(range!.from, range!.to)).toBe('quick')
  })

  it('are gone when their words are deleted', () => {
    const { ydoc, fragment, texts } = body('The quick brown fox.')
    const anchor = anchorOn(ydoc, fragment, 'brown')
    texts[0].delete('The quick '.length, 'brown'.length)
    const now = view(ydoc, fragment)
    expect(resolveAnchor(now.binding, anchor.rel_start, anchor.rel_end)).toBeNull()
  })

  it('read bytes stored either way', () => {
    expect(asBytes(new Uint8Array([1]))).toEqual(new Uint8Array([1]))
    expect(asBytes([1, 2])).toEqual(new Uint8Array([1, 2]))
    expect(asBytes('nope')).toBeNull()
  })
})
