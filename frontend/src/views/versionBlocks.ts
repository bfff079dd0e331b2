/**
 * A version's Report API blocks (docs/document-schema.md, "Report API blocks")
 * as a read-only page: `blocksToDoc` shapes them into a small element tree
 * (pure, tested), `renderDoc` turns that into DOM. Text always becomes text
 * nodes, never HTML, and only http(s)/mailto links are kept as links.
 */

import type { Block } from '../api'
import { h } from './dom'

export interface DocElement {
  tag: string
  attrs?: Record<string, string>
  children: DocNode[]
}

export type DocNode = DocElement | string

const el = (tag: string, children: DocNode[] = [], attrs?: Record<string, string>): DocElement =>
  attrs ? { tag, attrs, children } : { tag, children }

interface Span {
  text?: unknown
  bold?: unknown
  italic?: unknown
  code?: unknown
  strike?: unknown
  link?: unknown
  math?: unknown
}

const SAFE_LINK = /^(https?:|mailto:)/i

/** Rich text (a string, or a list of strings and spans) as inline nodes. */
export function inlineNodes(text: unknown): DocNode[] {
  const spans: unknown[] = typeof text === 'string' ? [text] : Array.isArray(text) ? text : []
  const out: DocNode[] = []
  for (const item of spans) {
    const span: Span = typeof item === 'string' ? { text: item } : typeof item === 'object' && item !== null ? (item as Span) : {}
    if (typeof span.math === 'string') {
      out.push(el('code', [span.math], { class: 'version-doc__math' }))
      continue
    }
    const value = typeof span.text === 'string' ? span.text : ''
    if (!value) continue
    let nodes: DocNode[] = withBreaks(value)
    if (span.code) nodes = [el('code', nodes)]
    if (span.strike) nodes = [el('s', nodes)]
    if (span.italic) nodes = [el('em', nodes)]
    if (span.bold) nodes = [el('strong', nodes)]
    if (typeof span.link === 'string' && SAFE_LINK.test(span.link)) {
      nodes = [el('a', nodes, { href: span.link, rel: 'noopener noreferrer', target: '_blank' })]
    }
    out.push(...nodes)
  }
  return out
}

function withBreaks(text: string): DocNode[] {
  const out: DocNode[] = []
  text.split('\n').forEach((part, index) => {
    if (index > 0) out.push(el('br'))
    if (part) out.push(part)
  })
  return out
}

const str = (value: unknown): string => (typeof value === 'string' ? value : '')
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : [])
const record = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {}

export function blocksToDoc(blocks: readonly Block[]): DocNode[] {
  return blocks.map(blockNode)
}

function blockNode(block: Block): DocNode {
  switch (block.type) {
    case 'heading': {
      const level = Math.min(3, Math.max(1, Number(block.level) || 1))
      return el(`h${level}`, inlineNodes(block.text))
    }
    case 'paragraph':
      return el('p', inlineNodes(block.text))
    case 'bulleted_list':
      return listNode('ul', block.items, false)
    case 'numbered_list': {
      const node = listNode('ol', block.items, false)
      const start = Number(block.start)
      if (Number.isInteger(start) && start !== 1) node.attrs = { start: String(start) }
      return node
    }
    case 'check_list':
      return listNode('ul', block.items, true)
    case 'code':
      return el('pre', [el('code', [str(block.code)])], block.language ? { 'data-language': str(block.language) } : undefined)
    case 'markdown':
      return el('pre', [str(block.source)], { class: 'version-doc__source' })
    case 'latex':
      return el('pre', [str(block.source)], { class: 'version-doc__source version-doc__math' })
    case 'image': {
      // The page's policy loads no outside images: name the picture and link to it.
      const url = str(block.url)
      const label = str(block.caption) || str(block.alt) || url
      const link: DocNode = SAFE_LINK.test(url) ? el('a', [label], { href: url, rel: 'noopener noreferrer', target: '_blank' }) : label
      return el('p', ['Image: ', link], { class: 'version-doc__note' })
    }
    case 'callout':
      return el('aside', inlineNodes(block.text), { class: `version-doc__callout version-doc__callout--${str(block.kind) || 'note'}` })
    case 'quote':
      return el('blockquote', [el('p', inlineNodes(block.text))])
    case 'divider':
      return el('hr')
    case 'table_of_contents':
      return el('p', ['Table of contents'], { class: 'version-doc__note' })
    case 'panel_grid':
      return gridNode(block)
    case 'editor_node':
      return el('p', [nodeText(block.node)], { class: 'version-doc__note' })
    default:
      return el('p', [`(${block.type} block)`], { class: 'version-doc__note' })
  }
}

function listNode(tag: 'ul' | 'ol', items: unknown, checks: boolean): DocElement {
  const children = list(items).map((raw): DocNode => {
    const item = typeof raw === 'string' ? { text: raw } : record(raw)
    const content: DocNode[] = []
    if (checks) content.push(el('span', [item.checked ? '☑ ' : '☐ '], { 'aria-hidden': 'true' }))
    if (checks) content.push(el('span', [item.checked ? 'Done: ' : 'To do: '], { class: 'visually-hidden' }))
    content.push(...inlineNodes(item.text))
    for (const child of list(item.children)) content.push(blockNode(record(child) as Block))
    if (item.items !== undefined) content.push(listNode(tag, item.items, checks))
    return el('li', content)
  })
  return el(tag, children, checks ? { class: 'version-doc__checks' } : undefined)
}

function gridNode(block: Block): DocElement {
  const panels = list(block.panels).map((raw) => {
    const panel = record(raw)
    const metrics = list(panel.metrics).map(str).filter(Boolean)
    const title = str(panel.title) || (metrics.length ? metrics.join(', ') : 'Untitled panel')
    const detail = [str(panel.type) || 'line', metrics.length ? `of ${metrics.join(', ')}` : ''].filter(Boolean).join(' ')
    return el('li', [el('strong', [title]), ` (${detail})`])
  })
  const runsets = list(block.runsets).map((raw) => {
    const runset = record(raw)
    const filters = list(runset.filters).map(str).filter(Boolean)
    const runIds = list(runset.run_ids).map(str).filter(Boolean)
    const where = [
      str(runset.project) ? `project ${str(runset.project)}` : '',
      filters.length ? `where ${filters.join(', ')}` : '',
      runIds.length ? `${runIds.length} chosen ${runIds.length === 1 ? 'run' : 'runs'}` : '',
    ].filter(Boolean)
    return el('li', [el('strong', [str(runset.name) || 'Runs']), where.length ? `: ${where.join('; ')}` : ''])
  })
  const children: DocNode[] = [el('p', [`Panel grid (${panels.length} ${panels.length === 1 ? 'panel' : 'panels'})`], { class: 'version-doc__grid-title' })]
  if (panels.length) children.push(el('ul', panels))
  if (runsets.length) children.push(el('p', ['Run sets:']), el('ul', runsets))
  return el('div', children, { class: 'version-doc__grid' })
}

/** The text of an editor node kept verbatim (`editor_node`): its text runs joined. */
export function nodeText(node: unknown): string {
  const value = record(node)
  if (typeof value.text === 'string') return value.text
  const parts = list(value.content).map(nodeText)
  return parts.join(value.type === 'paragraph' || value.type === 'text' ? '' : ' ').trim()
}

/** DOM for a shaped tree. */
export function renderDoc(nodes: readonly DocNode[]): Node[] {
  return nodes.map((node) => {
    if (typeof node === 'string') return document.createTextNode(node)
    const element = document.createElement(node.tag)
    for (const [name, value] of Object.entries(node.attrs ?? {})) element.setAttribute(name, value)
    element.append(...renderDoc(node.children))
    return element
  })
}

/** A version's title and blocks as a read-only article. */
export function renderVersionDoc(title: string, blocks: readonly Block[]): HTMLElement {
  const article = h('article', { class: 'version-doc prose', 'aria-label': 'Version content' })
  article.append(h('h1', { class: 'version-doc__title' }, title || 'Untitled report'), ...renderDoc(blocksToDoc(blocks)))
  if (!blocks.length) article.append(h('p', { class: 'version-doc__note' }, 'This version is empty.'))
  return article
}
