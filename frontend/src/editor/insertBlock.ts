/**
 * Inserting an atom block (a formula, an image, a table of contents) where
 * someone is writing, and leaving them a paragraph to go on writing in: the
 * document has no automatic trailing paragraph (in a shared document every
 * client would add one), so without this a block inserted at the end leaves
 * nowhere to type.
 */

import type { Editor, JSONContent } from '@tiptap/core'
import { TextSelection } from '@tiptap/pm/state'

export function insertAtomBlock(editor: Editor, pos: number, content: JSONContent): boolean {
  return editor
    .chain()
    .focus()
    .insertContentAt(pos, content)
    .command(({ tr, state }) => {
      // After the insertion the selection is on (or just after) the new block.
      const end = tr.selection.to
      const $end = tr.doc.resolve(end)
      const next = $end.nodeAfter
      if (!next?.isTextblock) {
        const paragraph = state.schema.nodes.paragraph.create()
        if (!$end.parent.canReplaceWith($end.index(), $end.index(), paragraph.type)) return true
        tr.insert(end, paragraph)
      }
      tr.setSelection(TextSelection.near(tr.doc.resolve(end + 1)))
      return true
    })
    .run()
}
