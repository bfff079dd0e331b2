/**
 * The report body's schema and block tools: every node and mark of
 * docs/document-schema.md (the report page adds collaboration, panel grids,
 * comment highlights and carets), the slash menu and Markdown paste.
 *
 * A node the editor's schema lacks is not merely hidden: y-prosemirror deletes
 * it from the shared document. So each node the Report API can write has a
 * definition here, with the attribute names the server uses.
 */

import './blocks.css'

import type { AnyExtension, Editor } from '@tiptap/core'
import { TaskItem, TaskList } from '@tiptap/extension-list'
import StarterKit from '@tiptap/starter-kit'

import { Callout } from './callout'
import { CodeBlock } from './codeBlock'
import { ImageBlock } from './image'
import { isSafeHref } from './links'
import { MarkdownBlock } from './markdownBlock'
import { MarkdownPaste } from './markdownPaste'
import { MathBlock, MathEditing, MathInline } from './math'
import { SlashMenu } from './slashMenu'
import { TableOfContents } from './tableOfContents'

export interface BlockExtensionsOptions {
  /** Opens the "insert panel grid" dialog (the slash menu's "Panel grid"); without it the item is not offered. */
  insertPanelGrid?: (editor: Editor) => void
}

export function blockExtensions(options: BlockExtensionsOptions = {}): AnyExtension[] {
  return [
    StarterKit.configure({
      // Collaboration brings its own undo, which only undoes this person's edits.
      undoRedo: false,
      // Appending a paragraph on every client after remote edits duplicates them.
      trailingNode: false,
      heading: { levels: [1, 2, 3] },
      // Replaced by the highlighting code block (same node name and attributes).
      codeBlock: false,
      link: {
        openOnClick: false,
        autolink: true,
        defaultProtocol: 'https',
        // Checked when typed, pasted and every time a link is drawn: only http(s), mailto (and relative).
        isAllowedUri: (url) => isSafeHref(url),
      },
    }),
    CodeBlock,
    TaskList,
    TaskItem.configure({ nested: true }),
    ImageBlock,
    MathBlock,
    MathInline,
    MathEditing,
    Callout,
    TableOfContents,
    MarkdownBlock,
    MarkdownPaste,
    SlashMenu.configure({ insertPanelGrid: options.insertPanelGrid ?? null }),
  ]
}
