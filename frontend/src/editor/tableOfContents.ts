/**
 * `tableOfContents` (docs/document-schema.md): an atom block that lists the
 * document's headings as links, redrawn whenever a heading changes, whoever
 * changed it. A plugin keeps the headings (tocEntries.ts) and gives each
 * heading an `id` (a decoration, never stored), so the links are real
 * `#anchors`; a click scrolls to the heading.
 */

import './tableOfContents.css'

import { Node } from '@tiptap/core'
import type { Node as ProseMirrorNode } from '@tiptap/pm/model'
import { Plugin, PluginKey, type EditorState } from '@tiptap/pm/state'
import { Decoration, DecorationSet } from '@tiptap/pm/view'

import { h } from '../views/dom'
import { changedRange, changeMapping, touchesNode, type ChangedRange } from './changedRange'
import { collectHeadings, sameEntries, type TocEntry } from './tocEntries'

/** Heading ids are prefixed so they never collide with the page's own ids. */
export const HEADING_ID_PREFIX = 'h-'

export interface TocState {
  entries: TocEntry[]
  decorations: DecorationSet
}

export const tocPluginKey = new PluginKey<TocState>('tableOfContents')

function tocState(state: Pick<EditorState, 'doc'>, previous?: TocState): TocState {
  const found = collectHeadings(state.doc)
  // Keep the old array when nothing a reader sees changed, so views can compare by identity.
  const entries = previous && sameEntries(previous.entries, found) ? previous.entries : found
  const decorations = DecorationSet.create(
    state.doc,
    found.map((entry) => {
      const node = state.doc.nodeAt(entry.pos)!
      return Decoration.node(entry.pos, entry.pos + node.nodeSize, { id: HEADING_ID_PREFIX + entry.anchor })
    }),
  )
  return { entries, decorations }
}

/**
 * Whether a change from `before` to `after` can change the headings: true
 * when a heading was removed, added or edited, or borders the change.
 */
export function touchesHeading(before: ProseMirrorNode, after: ProseMirrorNode, change: ChangedRange): boolean {
  const isHeading = (node: ProseMirrorNode) => node.type.name === 'heading'
  return touchesNode(before, change.start, change.endBefore, isHeading) || touchesNode(after, change.start, change.endAfter, isHeading)
}

/**
 * The plugin state after a change: the headings are collected again only when
 * the change touches one; otherwise the decorations move with the text (on a
 * 5,000-block report, collecting on every keystroke cost milliseconds).
 */
export function nextTocState(previous: TocState, before: Pick<EditorState, 'doc'>, after: Pick<EditorState, 'doc'>): TocState {
  const change = changedRange(before.doc, after.doc)
  if (!change) return previous
  if (touchesHeading(before.doc, after.doc, change)) return tocState(after, previous)
  return { entries: previous.entries, decorations: previous.decorations.map(changeMapping(change), after.doc) }
}

/**
 * The current headings of an editor state (empty before the plugin runs).
 * Their `pos` is where each heading was when they were last collected: text
 * typed above a heading since then moves it.
 */
export function tocEntriesOf(state: EditorState): TocEntry[] {
  return tocPluginKey.getState(state)?.entries ?? []
}

/** Keeps the headings (for every table of contents) and gives each heading its `id`. */
export function tableOfContentsPlugin(): Plugin<TocState> {
  return new Plugin<TocState>({
    key: tocPluginKey,
    state: {
      init: (_, state) => tocState(state),
      apply: (tr, previous, old, state) => (tr.docChanged ? nextTocState(previous, old, state) : previous),
    },
    props: {
      decorations: (state) => tocPluginKey.getState(state)?.decorations ?? null,
    },
  })
}

export const TableOfContents = Node.create({
  name: 'tableOfContents',
  group: 'block',
  atom: true,
  selectable: true,
  draggable: true,

  parseHTML() {
    return [{ tag: 'nav[data-type="table-of-contents"]' }]
  },

  renderHTML() {
    return ['nav', { 'data-type': 'table-of-contents' }]
  },

  addProseMirrorPlugins() {
    return [tableOfContentsPlugin()]
  },

  addNodeView() {
    return ({ editor }) => {
      const list = h('ol', { class: 'toc__list' })
      const empty = h('p', { class: 'toc__empty' }, 'Headings you add appear here.')
      const dom = h(
        'nav',
        { class: 'toc', 'data-type': 'table-of-contents', 'aria-label': 'Table of contents' },
        h('p', { class: 'toc__title', 'aria-hidden': 'true' }, 'Contents'),
        list,
        empty,
      )
      let shown: TocEntry[] | null = null
      const render = () => {
        const entries = tocEntriesOf(editor.state)
        if (entries === shown) return
        shown = entries
        const top = Math.min(...entries.map((entry) => entry.level))
        list.replaceChildren(
          ...entries.map((entry) =>
            h(
              'li',
              { class: `toc__item toc__item--depth-${Math.min(entry.level - top, 2)}` },
              h('a', { href: `#${HEADING_ID_PREFIX}${entry.anchor}`, class: 'toc__link', 'data-anchor': entry.anchor }, entry.text || 'Untitled section'),
            ),
          ),
        )
        list.hidden = entries.length === 0
        empty.hidden = entries.length > 0
      }
      render()
      editor.on('transaction', render)

      const onClick = (event: MouseEvent) => {
        const link = (event.target as Element).closest<HTMLAnchorElement>('a.toc__link')
        if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return
        event.preventDefault()
        // Positions in the kept entries may be old (text typed above moves them): find the heading now.
        const entry = collectHeadings(editor.state.doc).find((e) => e.anchor === link.dataset.anchor)
        const target = entry ? editor.view.nodeDOM(entry.pos) : null
        if (target instanceof HTMLElement) {
          target.scrollIntoView({ behavior: 'smooth', block: 'start' })
          window.history.replaceState(window.history.state, '', link.hash)
        }
      }
      dom.addEventListener('click', onClick)

      return {
        dom,
        // Links are the reader's: ProseMirror must not turn a click on one into a node selection.
        stopEvent: (event) => event.target instanceof Element && event.target.closest('a.toc__link') !== null,
        ignoreMutation: () => true,
        destroy: () => {
          editor.off('transaction', render)
          dom.removeEventListener('click', onClick)
        },
      }
    }
  },
})
