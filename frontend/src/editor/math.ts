/**
 * Formulas: `blockMath` and `inlineMath` are TipTap's own Mathematics nodes
 * (attribute `latex`, drawn by KaTeX), as docs/document-schema.md names them.
 * A display formula is drawn in KaTeX's display mode; a typo shows in red
 * rather than failing. Editors click a formula (or press Enter on it) to
 * change it in a dialog with a live preview.
 */

import 'katex/dist/katex.min.css'
import './math.css'

import { Extension, type Editor } from '@tiptap/core'
import { BlockMath, InlineMath } from '@tiptap/extension-mathematics'

import { atomEditingPlugin, nodeTracker } from './atomEditing'
import { openMathDialog } from './dialogs'
import { insertAtomBlock } from './insertBlock'
import { trackPosition } from './positions'

export const MathBlock = BlockMath.configure({ katexOptions: { displayMode: true, throwOnError: false } })
export const MathInline = InlineMath.configure({ katexOptions: { displayMode: false, throwOnError: false } })

const MATH_TYPES = ['blockMath', 'inlineMath'] as const

/** Open the formula at `pos` in the dialog; saving changes its `latex`, Remove deletes it. */
export function editMath(editor: Editor, pos: number): void {
  const node = editor.state.doc.nodeAt(pos)
  if (!node || !MATH_TYPES.includes(node.type.name as (typeof MATH_TYPES)[number])) return
  const type = node.type.name
  const tracker = nodeTracker(editor, pos, type)
  openMathDialog({
    display: type === 'blockMath',
    latex: String(node.attrs.latex ?? ''),
    editing: true,
    opener: editor.view.dom,
    onSave: (latex) => {
      const found = tracker.find()
      if (found) editor.chain().focus().command(({ tr }) => Boolean(tr.setNodeAttribute(found.pos, 'latex', latex))).run()
    },
    onRemove: () => {
      const found = tracker.find()
      if (found) editor.chain().focus().deleteRange({ from: found.pos, to: found.pos + found.node.nodeSize }).run()
    },
    onClose: tracker.release,
  })
}

/** Ask for a formula and insert it at the caret (a display formula replaces an empty paragraph). */
export function insertMath(editor: Editor, display: boolean): void {
  const tracked = trackPosition(editor, editor.state.selection.from)
  openMathDialog({
    display,
    latex: '',
    editing: false,
    opener: editor.view.dom,
    onSave: (latex) => {
      const pos = tracked.get() ?? editor.state.selection.from
      if (display) insertAtomBlock(editor, pos, { type: 'blockMath', attrs: { latex } })
      else editor.chain().focus().insertContentAt(pos, { type: 'inlineMath', attrs: { latex } }).run()
    },
    onClose: tracked.release,
  })
}

/** Click or Enter on a formula opens it (editors only). */
export const MathEditing = Extension.create({
  name: 'mathEditing',
  addProseMirrorPlugins() {
    return [atomEditingPlugin(this.editor, { key: 'mathEditing', types: MATH_TYPES, pointer: 'click', open: editMath })]
  },
})
