/**
 * Highlights the words each open text thread is anchored to, as ProseMirror
 * decorations. Local edits map the highlights along with the text; remote
 * edits and thread changes re-resolve them from the Yjs relative positions
 * (after a remote change the Yjs document is the truth the editor follows).
 */

import { Extension } from '@tiptap/core'
import { Plugin, PluginKey, type EditorState, type Transaction } from '@tiptap/pm/state'
import { Decoration, DecorationSet } from '@tiptap/pm/view'
import { ySyncPluginKey } from '@tiptap/y-tiptap'
import type * as Y from 'yjs'

import { asBytes, bindingOf, resolveAnchor } from './anchors'
import { listThreads } from './model'

export const commentHighlightsKey = new PluginKey<DecorationSet>('coreport.commentHighlights')

export interface CommentHighlightOptions {
  commentsDoc: Y.Doc | null
  /** The thread the sidebar has selected (drawn stronger). */
  activeThread: () => string | null
}

/** Decorations for every open text thread whose words still exist. */
export function computeHighlights(state: EditorState, commentsDoc: Y.Doc, active: string | null, previous?: EditorState): DecorationSet {
  // The sync plugin's state may not be computed yet for a state being built; its binding is the same object.
  const binding = bindingOf(state) ?? (previous ? bindingOf(previous) : null)
  if (!binding) return DecorationSet.empty
  const decorations: Decoration[] = []
  for (const thread of listThreads(commentsDoc, 'open')) {
    if (thread.anchor.kind !== 'text') continue
    const start = asBytes(thread.anchor.rel_start)
    const end = asBytes(thread.anchor.rel_end)
    if (!start || !end) continue
    const range = resolveAnchor(binding, start, end)
    if (!range || range.to > state.doc.content.size) continue
    const classes = thread.id === active ? 'comment-highlight comment-highlight--active' : 'comment-highlight'
    decorations.push(Decoration.inline(range.from, range.to, { class: classes, 'data-thread-id': thread.id }))
  }
  return DecorationSet.create(state.doc, decorations)
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
      new Plugin<DecorationSet>({
        key: commentHighlightsKey,
        state: {
          init: () => DecorationSet.empty,
          apply(tr, set, old, state) {
            const sync = tr.getMeta(ySyncPluginKey) as { isChangeOrigin?: boolean } | undefined
            if (tr.getMeta(commentHighlightsKey) === 'refresh' || sync?.isChangeOrigin) {
              return computeHighlights(state, commentsDoc, activeThread(), old)
            }
            return tr.docChanged ? set.map(tr.mapping, tr.doc) : set
          },
        },
        props: {
          decorations: (state) => commentHighlightsKey.getState(state),
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
