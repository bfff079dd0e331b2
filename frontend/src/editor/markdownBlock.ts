/**
 * `markdownBlock` (docs/document-schema.md): Markdown kept as its source (the
 * Report API's `markdown` block), drawn with the same escaped subset as
 * markdown panels (panels/markdown.ts: no HTML from the source reaches the
 * page). Without this node the editor would drop such blocks: y-prosemirror
 * deletes what its schema cannot hold. Editors change the source with Edit.
 */

import './markdownBlock.css'

import { type Editor, Node } from '@tiptap/core'
import type { Node as ProseMirrorNode } from '@tiptap/pm/model'

import { markdownToHtml } from '../panels/markdown'
import { h } from '../views/dom'
import { atomEditingPlugin, nodeTracker } from './atomEditing'
import { openMarkdownDialog } from './dialogs'
import { blockIcon } from './icons'

export function editMarkdownBlock(editor: Editor, pos: number): void {
  const node = editor.state.doc.nodeAt(pos)
  if (node?.type.name !== 'markdownBlock') return
  const tracker = nodeTracker(editor, pos, 'markdownBlock')
  openMarkdownDialog({
    source: String(node.attrs.source ?? ''),
    opener: editor.view.dom,
    onSave: (source) => {
      const found = tracker.find()
      if (found) editor.chain().focus().command(({ tr }) => Boolean(tr.setNodeAttribute(found.pos, 'source', source))).run()
    },
    onRemove: () => {
      const found = tracker.find()
      if (found) editor.chain().focus().deleteRange({ from: found.pos, to: found.pos + found.node.nodeSize }).run()
    },
    onClose: tracker.release,
  })
}

export const MarkdownBlock = Node.create({
  name: 'markdownBlock',
  group: 'block',
  atom: true,
  selectable: true,
  draggable: true,

  addAttributes() {
    return {
      source: {
        default: '',
        parseHTML: (element) => element.getAttribute('data-source') ?? '',
        renderHTML: (attributes) => ({ 'data-source': String(attributes.source ?? '') }),
      },
    }
  },

  parseHTML() {
    return [{ tag: 'div[data-type="markdown-block"]' }]
  },

  renderHTML({ HTMLAttributes }) {
    return ['div', { ...HTMLAttributes, 'data-type': 'markdown-block' }]
  },

  addProseMirrorPlugins() {
    return [atomEditingPlugin(this.editor, { key: 'markdownBlockEditing', types: ['markdownBlock'], pointer: 'dblclick', open: editMarkdownBlock })]
  },

  addNodeView() {
    return ({ node, editor, getPos }) => {
      const content = h('div', { class: 'markdown-block__content' })
      const edit = h(
        'button',
        { type: 'button', class: 'block-edit-button', 'aria-label': 'Edit Markdown', title: 'Edit Markdown (Enter)' },
        blockIcon('edit', 16),
      )
      const dom = h('div', { class: 'markdown-block', 'data-type': 'markdown-block' }, content, edit)
      let current = node
      const render = (next: ProseMirrorNode) => {
        const source = String(next.attrs.source ?? '')
        // markdownToHtml escapes every character of the source; the only markup is its own.
        content.innerHTML = source.trim() ? markdownToHtml(source) : '<p class="markdown-block__empty">Empty Markdown block</p>'
      }
      render(node)
      edit.addEventListener('click', () => {
        const pos = typeof getPos === 'function' ? getPos() : undefined
        if (pos !== undefined && editor.isEditable) editMarkdownBlock(editor, pos)
      })
      return {
        dom,
        update: (next) => {
          if (next.type !== current.type) return false
          if (next.attrs.source !== current.attrs.source) render(next)
          current = next
          return true
        },
        stopEvent: (event) => edit.contains(event.target as globalThis.Node),
        ignoreMutation: () => true,
      }
    }
  },
})
