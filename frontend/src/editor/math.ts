/**
 * Formulas: `blockMath` and `inlineMath`, with the names, attribute (`latex`)
 * and HTML of TipTap's Mathematics nodes, as docs/document-schema.md names
 * them, drawn by KaTeX. They are defined here rather than taken from
 * `@tiptap/extension-mathematics`, which imports KaTeX up front: KaTeX loads
 * (katex.ts) when a formula is first drawn. A display formula is drawn in
 * KaTeX's display mode; a typo shows in red rather than failing. Editors click
 * a formula (or press Enter on it) to change it in a dialog with a live
 * preview. `$$x$$` typed in text makes inline math; a paragraph of just
 * `$$$x$$$` makes a math block.
 */

import './math.css'

import { Extension, InputRule, mergeAttributes, Node, type Editor } from '@tiptap/core'
import type { KatexOptions } from 'katex'

import { atomEditingPlugin, nodeTracker } from './atomEditing'
import { openMathDialog } from './dialogs'
import { insertAtomBlock } from './insertBlock'
import { renderLatex } from './katex'
import { trackPosition } from './positions'

/** `latex`, kept in the HTML as `data-latex`. */
const latexAttribute = {
  latex: {
    default: '',
    parseHTML: (element: HTMLElement) => element.getAttribute('data-latex'),
    renderHTML: (attributes: Record<string, unknown>) => ({ 'data-latex': attributes.latex }),
  },
}

/** A formula's node view: KaTeX's rendering of its `latex` (its source while KaTeX loads). */
function mathView(tag: 'div' | 'span', kind: 'block-math' | 'inline-math', options: KatexOptions, editor: Editor, latex: string): { dom: HTMLElement } {
  const wrapper = document.createElement(tag)
  wrapper.className = 'tiptap-mathematics-render'
  if (editor.isEditable) wrapper.classList.add('tiptap-mathematics-render--editable')
  wrapper.dataset.type = kind
  wrapper.setAttribute('data-latex', latex)
  const target = tag === 'div' ? wrapper.appendChild(document.createElement('div')) : wrapper
  if (tag === 'div') target.className = 'block-math-inner'
  renderLatex(latex, target, options, (failed) => wrapper.classList.toggle(`${kind}-error`, failed))
  return { dom: wrapper }
}

export const MathBlock = Node.create({
  name: 'blockMath',
  group: 'block',
  atom: true,
  addAttributes: () => latexAttribute,
  parseHTML: () => [{ tag: 'div[data-type="block-math"]' }],
  renderHTML: ({ HTMLAttributes }) => ['div', mergeAttributes(HTMLAttributes, { 'data-type': 'block-math' })],
  addInputRules() {
    return [
      new InputRule({
        find: /^\$\$\$([^$]+)\$\$\$$/,
        handler: ({ state, range, match }) => {
          const $from = state.doc.resolve(range.from)
          const node = this.type.create({ latex: match[1] })
          // The whole paragraph was the formula: the block replaces it.
          const wholeBlock =
            $from.depth > 0 &&
            $from.parent.isTextblock &&
            range.from === $from.start() &&
            range.to === $from.end() &&
            $from.node(-1).canReplaceWith($from.index(-1), $from.indexAfter(-1), this.type)
          if (wholeBlock) state.tr.replaceWith($from.before(), $from.after(), node)
          else state.tr.replaceWith(range.from, range.to, node)
        },
      }),
    ]
  },
  addNodeView() {
    return ({ node, editor }) => mathView('div', 'block-math', { displayMode: true, throwOnError: false }, editor, String(node.attrs.latex ?? ''))
  },
})

export const MathInline = Node.create({
  name: 'inlineMath',
  group: 'inline',
  inline: true,
  atom: true,
  addAttributes: () => latexAttribute,
  parseHTML: () => [{ tag: 'span[data-type="inline-math"]' }],
  renderHTML: ({ HTMLAttributes }) => ['span', mergeAttributes(HTMLAttributes, { 'data-type': 'inline-math' })],
  addInputRules() {
    return [
      new InputRule({
        find: /(?<!\$)(\$\$([^$\n]+?)\$\$)(?!\$)/,
        handler: ({ state, range, match }) => {
          state.tr.replaceWith(range.from, range.to, this.type.create({ latex: match[2] }))
        },
      }),
    ]
  },
  addNodeView() {
    return ({ node, editor }) => mathView('span', 'inline-math', { displayMode: false, throwOnError: false }, editor, String(node.attrs.latex ?? ''))
  },
})

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
