/**
 * Pasting Markdown: plain text that reads as Markdown (markdown.ts decides)
 * becomes headings, lists, code, quotes, math... instead of one paragraph of
 * `#` and `-`. Rich clipboard content (HTML from a page or from this editor)
 * is left to ProseMirror, except code editors' HTML (VS Code puts its
 * coloured text there): there the plain text is what the person means.
 */

import { Extension, type JSONContent } from '@tiptap/core'
import { Fragment, type Schema, Slice } from '@tiptap/pm/model'
import { Plugin, PluginKey } from '@tiptap/pm/state'

import { looksLikeMarkdown, markdownToContent } from './markdown'

/** The slice a paste of `nodes` inserts: one paragraph joins the text around the caret, more blocks stay blocks. */
export function markdownSlice(schema: Schema, nodes: JSONContent[]): Slice | null {
  if (nodes.length === 0) return null
  const fragment = Fragment.fromArray(nodes.map((node) => schema.nodeFromJSON(node)))
  fragment.forEach((node) => node.check())
  if (fragment.childCount === 1 && fragment.firstChild!.type.name === 'paragraph') return new Slice(fragment, 1, 1)
  return new Slice(fragment, 0, 0)
}

/** Whether the clipboard's plain text should be read as Markdown. */
export function pastesAsMarkdown(data: Pick<DataTransfer, 'getData' | 'types'>): boolean {
  const text = data.getData('text/plain')
  if (!text) return false
  const fromCodeEditor = Array.from(data.types).includes('vscode-editor-data')
  if (data.getData('text/html') && !fromCodeEditor) return false
  return looksLikeMarkdown(text)
}

export const MarkdownPaste = Extension.create({
  name: 'markdownPaste',

  addProseMirrorPlugins() {
    return [
      new Plugin({
        key: new PluginKey('markdownPaste'),
        props: {
          handlePaste: (view, event) => {
            const data = event.clipboardData
            if (!data || !view.editable || !pastesAsMarkdown(data)) return false
            // Inside code, Markdown is code.
            if (view.state.selection.$from.parent.type.spec.code) return false
            let slice: Slice | null
            try {
              slice = markdownSlice(view.state.schema, markdownToContent(data.getData('text/plain')))
            } catch {
              // Something the schema cannot hold here: ProseMirror's own paste keeps the text.
              return false
            }
            if (!slice) return false
            view.dispatch(view.state.tr.replaceSelection(slice).scrollIntoView().setMeta('paste', true).setMeta('uiEvent', 'paste'))
            return true
          },
        },
      }),
    ]
  },
})
