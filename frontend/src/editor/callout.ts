/**
 * `callout` (docs/document-schema.md): a block of inline text set apart as a
 * note, tip, important point, warning or caution, as GitHub's alerts are.
 * Editors pick the kind from a menu in its header; readers see the kind's
 * name and icon only.
 */

import './callout.css'

import { mergeAttributes, Node } from '@tiptap/core'
import type { Node as ProseMirrorNode } from '@tiptap/pm/model'

import { h } from '../views/dom'
import { blockIcon } from './icons'

export const CALLOUT_KINDS = ['note', 'tip', 'important', 'warning', 'caution'] as const
export type CalloutKind = (typeof CALLOUT_KINDS)[number]

const LABELS: Record<CalloutKind, string> = { note: 'Note', tip: 'Tip', important: 'Important', warning: 'Warning', caution: 'Caution' }

/** A stored kind, or `note` for anything this editor does not know. */
export function calloutKind(value: unknown): CalloutKind {
  return CALLOUT_KINDS.includes(value as CalloutKind) ? (value as CalloutKind) : 'note'
}

declare module '@tiptap/core' {
  interface Commands<ReturnType> {
    callout: {
      /** Turn the current text block into a callout, or insert one where that is not possible. */
      setCallout: (attributes?: { kind?: CalloutKind }) => ReturnType
      /** Change the kind of the callout at the selection. */
      setCalloutKind: (kind: CalloutKind) => ReturnType
    }
  }
}

export const Callout = Node.create({
  name: 'callout',
  group: 'block',
  content: 'inline*',
  defining: true,

  addAttributes() {
    return {
      kind: {
        // Kept as stored (a newer editor's kind survives a round trip); drawn as `note` if unknown.
        default: 'note',
        parseHTML: (element) => element.getAttribute('data-kind') ?? 'note',
        renderHTML: (attributes) => ({ 'data-kind': String(attributes.kind) }),
      },
    }
  },

  parseHTML() {
    return [{ tag: 'div[data-type="callout"]' }]
  },

  renderHTML({ HTMLAttributes }) {
    return ['div', mergeAttributes(HTMLAttributes, { 'data-type': 'callout', class: 'callout' }), 0]
  },

  addCommands() {
    return {
      setCallout:
        (attributes = {}) =>
        ({ commands }) =>
          commands.setNode(this.name, { kind: attributes.kind ?? 'note' }) ||
          commands.insertContent({ type: this.name, attrs: { kind: attributes.kind ?? 'note' } }),
      setCalloutKind:
        (kind) =>
        ({ commands }) =>
          commands.updateAttributes(this.name, { kind }),
    }
  },

  addKeyboardShortcuts() {
    return {
      // Backspace at the start of a callout turns it back into a paragraph (as in a heading).
      Backspace: ({ editor }) => {
        const { selection } = editor.state
        const { $from, empty } = selection
        if (!empty || $from.parent.type.name !== this.name || $from.parentOffset !== 0) return false
        return editor.commands.setNode('paragraph')
      },
      // Shift+Enter is a line break inside the callout; Enter at its end continues below it.
    }
  },

  addNodeView() {
    return ({ node, editor, getPos }) => {
      const select = h('select', { class: 'callout__kind-select', 'aria-label': 'Callout kind' })
      for (const kind of CALLOUT_KINDS) select.append(h('option', { value: kind }, LABELS[kind]))
      const iconSlot = h('span', { class: 'callout__icon' })
      const label = h('span', { class: 'callout__label' })
      const header = h('div', { class: 'callout__header', contenteditable: 'false' }, iconSlot, label, select)
      const content = h('div', { class: 'callout__content' })
      const dom = h('div', { class: 'callout', 'data-type': 'callout' }, header, content)

      let current: ProseMirrorNode = node
      const render = (next: ProseMirrorNode) => {
        const kind = calloutKind(next.attrs.kind)
        dom.dataset.kind = kind
        dom.setAttribute('role', 'note')
        dom.setAttribute('aria-label', LABELS[kind])
        iconSlot.replaceChildren(blockIcon(kind, 18))
        label.textContent = LABELS[kind]
        select.value = kind
      }
      render(node)

      select.addEventListener('change', () => {
        const pos = typeof getPos === 'function' ? getPos() : undefined
        if (!editor.isEditable || pos === undefined) {
          select.value = calloutKind(current.attrs.kind)
          return
        }
        editor.view.dispatch(editor.state.tr.setNodeAttribute(pos, 'kind', select.value))
      })

      return {
        dom,
        contentDOM: content,
        update: (next) => {
          if (next.type !== current.type) return false
          current = next
          render(next)
          return true
        },
        // The header is ours: ProseMirror neither handles its events nor reads its DOM.
        stopEvent: (event) => header.contains(event.target as globalThis.Node),
        ignoreMutation: (mutation) => mutation.type !== 'selection' && header.contains(mutation.target),
      }
    }
  },
})
