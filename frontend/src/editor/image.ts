/**
 * `image` (docs/document-schema.md): TipTap's Image node as a block, drawn as
 * a figure whose caption is the `title` attribute and whose `alt` is the
 * image's text alternative. Only addresses links.ts allows are loaded (http(s),
 * relative, inline PNG/JPEG/GIF/WebP). Editors insert one by address from the
 * slash menu and change it with Edit (or a double click, or Enter).
 */

import './image.css'

import type { Editor } from '@tiptap/core'
import Image from '@tiptap/extension-image'
import type { Node as ProseMirrorNode } from '@tiptap/pm/model'

import { h } from '../views/dom'
import { atomEditingPlugin, nodeTracker } from './atomEditing'
import { openImageDialog, type ImageValues } from './dialogs'
import { blockIcon } from './icons'
import { insertAtomBlock } from './insertBlock'
import { safeImageSrc } from './links'
import { trackPosition } from './positions'

function valuesOf(node: ProseMirrorNode): ImageValues {
  const text = (value: unknown) => (typeof value === 'string' && value ? value : null)
  return { src: String(node.attrs.src ?? ''), alt: text(node.attrs.alt), title: text(node.attrs.title) }
}

export function editImage(editor: Editor, pos: number): void {
  const node = editor.state.doc.nodeAt(pos)
  if (node?.type.name !== 'image') return
  const tracker = nodeTracker(editor, pos, 'image')
  openImageDialog({
    values: valuesOf(node),
    opener: editor.view.dom,
    onSave: (values) => {
      const found = tracker.find()
      if (!found) return
      editor
        .chain()
        .focus()
        .command(({ tr }) => Boolean(tr.setNodeMarkup(found.pos, undefined, { ...found.node.attrs, ...values })))
        .run()
    },
    onRemove: () => {
      const found = tracker.find()
      if (found) editor.chain().focus().deleteRange({ from: found.pos, to: found.pos + found.node.nodeSize }).run()
    },
    onClose: tracker.release,
  })
}

export function insertImage(editor: Editor): void {
  const tracked = trackPosition(editor, editor.state.selection.from)
  openImageDialog({
    values: null,
    opener: editor.view.dom,
    onSave: (values) => {
      const pos = tracked.get() ?? editor.state.selection.from
      insertAtomBlock(editor, pos, { type: 'image', attrs: values })
    },
    onClose: tracked.release,
  })
}

const dimension = (value: unknown): string | null => (typeof value === 'number' && value > 0 ? String(Math.round(value)) : null)

export const ImageBlock = Image.extend({
  addProseMirrorPlugins() {
    return [...(this.parent?.() ?? []), atomEditingPlugin(this.editor, { key: 'imageEditing', types: ['image'], pointer: 'dblclick', open: editImage })]
  },

  addNodeView() {
    return ({ node, editor, getPos }) => {
      const img = h('img', { class: 'image-block__img', loading: 'lazy', draggable: 'false' })
      const blocked = h('p', { class: 'image-block__blocked', hidden: true })
      const caption = h('figcaption', { class: 'image-block__caption' })
      const edit = h(
        'button',
        { type: 'button', class: 'block-edit-button', 'aria-label': 'Edit image', title: 'Edit image (Enter)' },
        blockIcon('edit', 16),
      )
      const dom = h('figure', { class: 'image-block', 'data-type': 'image' }, img, blocked, caption, edit)

      let current = node
      const render = (next: ProseMirrorNode) => {
        const values = valuesOf(next)
        const src = safeImageSrc(values.src)
        if (src) {
          if (img.getAttribute('src') !== src) img.src = src
          img.alt = values.alt ?? ''
          img.hidden = false
          blocked.hidden = true
        } else {
          img.removeAttribute('src')
          img.hidden = true
          blocked.hidden = false
          blocked.textContent = values.src ? `Image not shown: “${values.src.slice(0, 80)}” is not an http(s) address.` : 'No image address.'
        }
        for (const key of ['width', 'height'] as const) {
          const value = dimension(next.attrs[key])
          if (value) img.setAttribute(key, value)
          else img.removeAttribute(key)
        }
        caption.textContent = values.title ?? ''
        caption.hidden = !values.title
      }
      render(node)

      edit.addEventListener('click', () => {
        const pos = typeof getPos === 'function' ? getPos() : undefined
        if (pos !== undefined && editor.isEditable) editImage(editor, pos)
      })

      return {
        dom,
        update: (next) => {
          if (next.type !== current.type) return false
          current = next
          render(next)
          return true
        },
        stopEvent: (event) => edit.contains(event.target as globalThis.Node),
        ignoreMutation: () => true,
      }
    }
  },
}).configure({ inline: false, allowBase64: false })
