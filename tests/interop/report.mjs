// The report document as the editor shapes it (DESIGN.md §2): `title` Y.Text, `panels`
// Y.Map of Y.Maps, `body` Y.XmlFragment of ProseMirror-like nodes. Random edits on it,
// and a comparable snapshot of its content.

import * as Y from 'yjs'
import * as prng from 'lib0/prng'

import { canonicalJSON } from './clients.mjs'

/** Plain JSON for an XML node: elements with their attributes, text as a delta. */
const xmlToJSON = (node) => {
  if (node instanceof Y.XmlText) return { text: node.toDelta() }
  const attributes = node instanceof Y.XmlElement ? node.getAttributes() : {}
  return {
    name: node instanceof Y.XmlElement ? node.nodeName : '#fragment',
    attributes,
    children: node.toArray().map(xmlToJSON)
  }
}

/**
 * The content of `doc` as a JSON string, read from a fresh doc built from
 * Y.encodeStateAsUpdate(doc): two docs converged when their strings are equal.
 */
export const reportContent = (doc) => {
  const copy = new Y.Doc()
  Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc))
  const content = canonicalJSON({
    title: copy.getText('title').toDelta(),
    panels: copy.getMap('panels').toJSON(),
    body: xmlToJSON(copy.getXmlFragment('body'))
  })
  copy.destroy()
  return content
}

/** A paragraph node: <paragraph align=...>text, partly bold</paragraph>. */
export const paragraph = (text, { align = 'left', bold = false } = {}) => {
  const node = new Y.XmlElement('paragraph')
  node.setAttribute('align', align)
  const inline = new Y.XmlText()
  inline.insert(0, text, bold ? { bold: true } : {})
  node.insert(0, [inline])
  return node
}

/** A panel grid block node, as the editor embeds it in `body`. */
export const panelGrid = (gridId) => {
  const node = new Y.XmlElement('panelGrid')
  node.setAttribute('gridId', gridId)
  return node
}

/** A panel: a Y.Map of plain fields, kept under `panels`. */
export const panel = (fields) => {
  const map = new Y.Map()
  for (const [key, value] of Object.entries(fields)) map.set(key, value)
  return map
}

const elements = (fragment) => fragment.toArray().filter((n) => n instanceof Y.XmlElement)

const titleEdit = (doc, gen, tag) => {
  const title = doc.getText('title')
  const at = prng.int31(gen, 0, title.length)
  const roll = prng.int31(gen, 0, 3)
  if (roll === 0 && title.length > 2) {
    title.delete(at === title.length ? at - 1 : at, 1)
  } else if (roll === 1 && title.length > 2) {
    const from = prng.int31(gen, 0, title.length - 2)
    title.format(from, prng.int31(gen, 1, title.length - from), { italic: prng.bool(gen) || null })
  } else {
    title.insert(at, `${tag}${prng.word(gen, 1, 4)}`, prng.bool(gen) ? { bold: true } : {})
  }
}

const panelsEdit = (doc, gen, tag) => {
  const panels = doc.getMap('panels')
  const ids = [...panels.keys()]
  const roll = prng.int31(gen, 0, 3)
  if (roll === 0 || ids.length === 0) {
    const id = `${tag}${prng.word(gen, 2, 6)}`
    panels.set(id, panel({ type: prng.oneOf(gen, ['line', 'bar', 'scalar']), title: id, smoothing: 0.5 }))
  } else if (roll === 1 && ids.length > 1) {
    panels.delete(prng.oneOf(gen, ids))
  } else {
    const target = panels.get(prng.oneOf(gen, ids))
    target.set(prng.oneOf(gen, ['title', 'smoothing', 'x_axis']), `${tag}${prng.int31(gen, 0, 99)}`)
  }
}

const bodyEdit = (doc, gen, tag) => {
  const body = doc.getXmlFragment('body')
  const nodes = elements(body)
  const roll = prng.int31(gen, 0, 4)
  if (roll === 0 && nodes.length > 1) {
    body.delete(prng.int31(gen, 0, body.length - 1), 1)
  } else if (roll === 1 && nodes.length > 0) {
    prng.oneOf(gen, nodes).setAttribute('align', `${tag}${prng.oneOf(gen, ['left', 'center'])}`)
  } else if (roll === 2 && nodes.length > 0) {
    const inline = prng.oneOf(gen, nodes).toArray().find((n) => n instanceof Y.XmlText)
    if (inline) inline.insert(prng.int31(gen, 0, inline.length), tag, { bold: true })
  } else {
    const at = prng.int31(gen, 0, body.length)
    const node = prng.bool(gen)
      ? paragraph(`${tag}${prng.word(gen, 1, 8)}`, { bold: prng.bool(gen) })
      : panelGrid(`${tag}${prng.word(gen, 2, 5)}`)
    body.insert(at, [node])
  }
}

/** One random edit of the title, the panels or the body, each in its own transaction. */
export const randomEdit = (doc, gen, tag) => {
  const edit = prng.oneOf(gen, [titleEdit, panelsEdit, bodyEdit])
  doc.transact(() => edit(doc, gen, tag))
}
