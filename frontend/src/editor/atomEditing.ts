/**
 * Opening the form of an atom block (a formula, an image, a Markdown block):
 * by pointer (a click or a double click on it) or from the keyboard (Enter
 * while it is selected). Only when the editor is editable: readers select
 * and copy, nothing more.
 */

import type { Editor } from '@tiptap/core'
import type { Node as ProseMirrorNode } from '@tiptap/pm/model'
import { NodeSelection, Plugin, PluginKey } from '@tiptap/pm/state'

import { trackPosition } from './positions'

export interface AtomEditingOptions {
  key: string
  /** Node type names this opens. */
  types: readonly string[]
  /** `click` for nodes with nothing else to do on click (formulas), `dblclick` where a click selects. */
  pointer: 'click' | 'dblclick'
  open: (editor: Editor, pos: number) => void
}

export function atomEditingPlugin(editor: Editor, options: AtomEditingOptions): Plugin {
  const matches = (node: ProseMirrorNode) => options.types.includes(node.type.name)
  const onPointer = (pos: number, node: ProseMirrorNode, direct: boolean) => {
    if (!direct || !editor.isEditable || !matches(node)) return false
    options.open(editor, pos)
    return true
  }
  return new Plugin({
    key: new PluginKey(options.key),
    props: {
      handleClickOn: options.pointer === 'click' ? (_view, _pos, node, nodePos, _event, direct) => onPointer(nodePos, node, direct) : undefined,
      handleDoubleClickOn: options.pointer === 'dblclick' ? (_view, _pos, node, nodePos, _event, direct) => onPointer(nodePos, node, direct) : undefined,
      handleKeyDown: (view, event) => {
        const { selection } = view.state
        if (event.key !== 'Enter' || event.shiftKey || event.ctrlKey || event.metaKey || event.altKey) return false
        if (!(selection instanceof NodeSelection) || !matches(selection.node) || !editor.isEditable) return false
        event.preventDefault()
        options.open(editor, selection.from)
        return true
      },
    },
  })
}

/**
 * The node of type `type` at `pos` once a dialog closes, found again however
 * the document changed meanwhile; null if it was deleted.
 */
export function nodeTracker(editor: Editor, pos: number, type: string): { find: () => { pos: number; node: ProseMirrorNode } | null; release: () => void } {
  const tracked = trackPosition(editor, pos)
  return {
    find: () => {
      const at = tracked.get()
      const node = at === null ? null : editor.state.doc.nodeAt(at)
      return at !== null && node?.type.name === type ? { pos: at, node } : null
    },
    release: tracked.release,
  }
}
