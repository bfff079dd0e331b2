/**
 * Highlights the words each open text thread is anchored to, as ProseMirror
 * decorations. Local edits map the highlights along with the text; remote
 * edits re-resolve them from the Yjs relative positions (after a remote change
 * the Yjs document is the truth the editor follows), and thread changes
 * re-resolve them all.
 *
 * Resolving an anchor costs time in proportion to its place in the document,
 * and y-prosemirror applies every remote keystroke as one transaction that
 * replaces the whole document. So a remote change re-resolves only the threads
 * whose highlight touches the part of the document that really changed (found
 * by comparing the old and new document, which share every unchanged node) or
 * that had no highlight; the others move by the change's size.
 */

import { Extension } from '@tiptap/core'
import type { Node as PmNode } from '@tiptap/pm/model'
import { Plugin, PluginKey, type EditorState, type Transaction } from '@tiptap/pm/state'
import { Decoration, DecorationSet } from '@tiptap/pm/view'
import { ySyncPluginKey } from '@tiptap/y-tiptap'
import type * as Y from 'yjs'

import { changedRange, changeMapping } from '../editor/changedRange'

import { asBytes, bindingOf, resolveAnchor } from './anchors'
import { listThreads } from './model'

/** An open thread anchored to text: its id and its Yjs relative positions. */
export interface TextAnchor {
  id: string
  start: Uint8Array
  end: Uint8Array
}

export interface HighlightState {
  decorations: DecorationSet
  /** The open text threads, read again whenever threads change. */
  anchors: TextAnchor[]
}

/** Where an anchor is in the document now, or null when its words are gone. */
export type ResolveAnchor = (anchor: TextAnchor) => { from: number; to: number } | null

export const commentHighlightsKey = new PluginKey<HighlightState>('coreport.commentHighlights')

export interface CommentHighlightOptions {
  commentsDoc: Y.Doc | null
  /** The thread the sidebar has selected (drawn stronger). */
  activeThread: () => string | null
}

interface HighlightSpec {
  threadId: string
}

/** The open threads of the comments document that are anchored to text. */
export function textAnchors(commentsDoc: Y.Doc): TextAnchor[] {
  const anchors: TextAnchor[] = []
  for (const thread of listThreads(commentsDoc, 'open')) {
    if (thread.anchor.kind !== 'text') continue
    const start = asBytes(thread.anchor.rel_start)
    const end = asBytes(thread.anchor.rel_end)
    if (start && end) anchors.push({ id: thread.id, start, end })
  }
  return anchors
}

function highlight(doc: PmNode, anchor: TextAnchor, resolve: ResolveAnchor, active: string | null): Decoration[] {
  const range = resolve(anchor)
  if (!range || range.to > doc.content.size) return []
  const classes = anchor.id === active ? 'comment-highlight comment-highlight--active' : 'comment-highlight'
  const spec: HighlightSpec = { threadId: anchor.id }
  return [Decoration.inline(range.from, range.to, { class: classes, 'data-thread-id': anchor.id }, spec)]
}

/** Decorations for every anchor whose words still exist. */
export function highlightAll(doc: PmNode, anchors: readonly TextAnchor[], resolve: ResolveAnchor, active: string | null): DecorationSet {
  return DecorationSet.create(
    doc,
    anchors.flatMap((anchor) => highlight(doc, anchor, resolve, active)),
  )
}

/**
 * The highlights after a remote change from `before` to `after`: threads whose
 * highlight touches the changed part, or that had none, are resolved again
 * (`resolve`); the rest keep their words, moved by the change.
 */
export function rehighlight(previous: HighlightState, before: PmNode, after: PmNode, resolve: ResolveAnchor, active: string | null): HighlightState {
  const change = changedRange(before, after)
  if (!change) return previous
  const old = previous.decorations
  const touched = new Set(old.find(change.start, change.endBefore).map((d) => (d.spec as HighlightSpec).threadId))
  const shown = new Set(old.find().map((d) => (d.spec as HighlightSpec).threadId))
  const stale = previous.anchors.filter((anchor) => touched.has(anchor.id) || !shown.has(anchor.id))
  const staleIds = new Set(stale.map((anchor) => anchor.id))
  let decorations = old.map(changeMapping(change), after)
  if (stale.length === 0) return { ...previous, decorations }
  decorations = decorations.remove(decorations.find(undefined, undefined, (spec: HighlightSpec) => staleIds.has(spec.threadId)))
  decorations = decorations.add(
    after,
    stale.flatMap((anchor) => highlight(after, anchor, resolve, active)),
  )
  return { ...previous, decorations }
}

function resolverOf(state: EditorState, previous?: EditorState): ResolveAnchor | null {
  // The sync plugin's state may not be computed yet for a state being built; its binding is the same object.
  const binding = bindingOf(state) ?? (previous ? bindingOf(previous) : null)
  if (!binding) return null
  return (anchor) => resolveAnchor(binding, anchor.start, anchor.end)
}

/** Ask the highlights to re-resolve (threads changed, or the active one did). */
export function refreshHighlights(tr: Transaction): Transaction {
  return tr.setMeta(commentHighlightsKey, 'refresh')
}

export const CommentHighlights = Extension.create<CommentHighlightOptions>({
  name: 'commentHighlights',
  addOptions() {
    return { commentsDoc: null, activeThread: () => null }
  },
  addProseMirrorPlugins() {
    const { commentsDoc, activeThread } = this.options
    if (!commentsDoc) return []
    return [
      new Plugin<HighlightState>({
        key: commentHighlightsKey,
        state: {
          init: () => ({ decorations: DecorationSet.empty, anchors: textAnchors(commentsDoc) }),
          apply(tr, previous, old, state): HighlightState {
            if (tr.getMeta(commentHighlightsKey) === 'refresh') {
              const anchors = textAnchors(commentsDoc)
              const resolve = resolverOf(state, old)
              return { anchors, decorations: resolve ? highlightAll(state.doc, anchors, resolve, activeThread()) : DecorationSet.empty }
            }
            const sync = tr.getMeta(ySyncPluginKey) as { isChangeOrigin?: boolean } | undefined
            if (sync?.isChangeOrigin) {
              const resolve = resolverOf(state, old)
              return resolve ? rehighlight(previous, old.doc, state.doc, resolve, activeThread()) : previous
            }
            return tr.docChanged ? { ...previous, decorations: previous.decorations.map(tr.mapping, tr.doc) } : previous
          },
        },
        props: {
          decorations: (state) => commentHighlightsKey.getState(state)?.decorations ?? null,
        },
        view: (view) => {
          // Thread changes (new, resolved, from anyone) redraw the highlights.
          const threads = commentsDoc.getMap('threads')
          const onChange = () => {
            if (!view.isDestroyed) view.dispatch(refreshHighlights(view.state.tr))
          }
          threads.observeDeep(onChange)
          return { destroy: () => threads.unobserveDeep(onChange) }
        },
      }),
    ]
  },
})
