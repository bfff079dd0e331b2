/**
 * A place in the document that stays put while a dialog is open: others keep
 * typing, and y-prosemirror applies their edits by replacing the whole
 * ProseMirror document, so a plain position (or its mapping) would drift.
 * With the collaboration binding the place is a Yjs relative position, which
 * follows the content it points at; without one (no collaboration), local
 * transactions' mappings carry it.
 */

import type { Editor } from '@tiptap/core'
import { absolutePositionToRelativePosition, relativePositionToAbsolutePosition } from '@tiptap/y-tiptap'
import type { Transaction } from '@tiptap/pm/state'
import type * as Y from 'yjs'

import { bindingOf } from '../comments/anchors'

export interface TrackedPosition {
  /** Where the place is now; null when it cannot be found any more. */
  get: () => number | null
  release: () => void
}

export function trackPosition(editor: Editor, pos: number): TrackedPosition {
  const binding = bindingOf(editor.state)
  if (binding) {
    const relative = absolutePositionToRelativePosition(pos, binding.type, binding.mapping) as Y.RelativePosition
    return {
      get: () => {
        const now = bindingOf(editor.state)
        if (!now) return null
        const at = relativePositionToAbsolutePosition(now.doc, now.type, relative, now.mapping)
        return at === null ? null : Math.min(at, editor.state.doc.content.size)
      },
      release: () => {},
    }
  }
  let current: number | null = pos
  const onTransaction = ({ transaction }: { transaction: Transaction }) => {
    if (current === null || !transaction.docChanged) return
    const mapped = transaction.mapping.mapResult(current)
    current = mapped.deletedAcross ? null : mapped.pos
  }
  editor.on('transaction', onTransaction)
  return {
    get: () => current,
    release: () => editor.off('transaction', onTransaction),
  }
}
