/**
 * The slash menu: `/` at the start of a paragraph (or after a space) opens a
 * list of blocks to insert; typing filters it (slashItems.ts), arrows move,
 * Enter or Tab inserts, Escape closes. Built on @tiptap/suggestion. The
 * caret stays in the editor, so the editor (role textbox) points screen
 * readers at the highlighted option with aria-activedescendant, as the
 * WAI-ARIA combobox pattern does.
 */

import './slashMenu.css'

import { type Editor, Extension } from '@tiptap/core'
import { PluginKey } from '@tiptap/pm/state'
import Suggestion, { type SuggestionKeyDownProps, type SuggestionProps } from '@tiptap/suggestion'

import { h } from '../views/dom'
import { blockIcon } from './icons'
import { insertImage } from './image'
import { insertAtomBlock } from './insertBlock'
import { insertMath } from './math'
import { filterSlashItems, moveActive, SLASH_ITEMS, type SlashItem, type SlashItemId } from './slashItems'

export interface SlashMenuOptions {
  /** Opens the "insert panel grid" dialog; the item is left out when absent. */
  insertPanelGrid: ((editor: Editor) => void) | null
}

const LISTBOX_ID = 'slash-menu'

/** What choosing each item does, once the `/query` text is gone. */
const COMMANDS: Record<SlashItemId, (editor: Editor, options: SlashMenuOptions) => void> = {
  heading1: (e) => setHeading(e, 1),
  heading2: (e) => setHeading(e, 2),
  heading3: (e) => setHeading(e, 3),
  bulletList: (e) => e.chain().focus().toggleBulletList().run(),
  orderedList: (e) => e.chain().focus().toggleOrderedList().run(),
  taskList: (e) => e.chain().focus().toggleTaskList().run(),
  codeBlock: (e) => e.chain().focus().setCodeBlock().run(),
  quote: (e) => e.chain().focus().setBlockquote().run(),
  callout: (e) => e.chain().focus().setCallout({ kind: 'note' }).run(),
  blockMath: (e) => insertMath(e, true),
  inlineMath: (e) => insertMath(e, false),
  image: (e) => insertImage(e),
  divider: (e) => e.chain().focus().setHorizontalRule().run(),
  tableOfContents: (e) => insertAtomBlock(e, e.state.selection.from, { type: 'tableOfContents' }),
  panelGrid: (e, options) => options.insertPanelGrid?.(e),
}

/** Make the paragraph a heading; where it cannot be one (the first line of a list item), add a heading below it. */
function setHeading(editor: Editor, level: 1 | 2 | 3): void {
  if (!editor.chain().focus().setNode('heading', { level }).run()) {
    editor.chain().focus().insertContent({ type: 'heading', attrs: { level } }).run()
  }
}

/** The items this editor offers (panel grids only where a dialog can make one). */
export function slashItemsFor(options: SlashMenuOptions): SlashItem[] {
  return SLASH_ITEMS.filter((item) => item.id !== 'panelGrid' || options.insertPanelGrid !== null)
}

export const SlashMenu = Extension.create<SlashMenuOptions>({
  name: 'slashMenu',

  addOptions() {
    return { insertPanelGrid: null }
  },

  addProseMirrorPlugins() {
    const options = this.options
    const offered = slashItemsFor(options)
    return [
      Suggestion<SlashItem, SlashItem>({
        pluginKey: new PluginKey('slashMenu'),
        editor: this.editor,
        char: '/',
        allowedPrefixes: [' '],
        decorationClass: 'slash-query',
        // Only in paragraphs (a `/` in a heading, code or callout is just a slash), only for editors.
        allow: ({ editor, state, range }) => editor.isEditable && state.doc.resolve(range.from).parent.type.name === 'paragraph',
        items: ({ query }) => filterSlashItems(offered, query),
        command: ({ editor, range, props: item }) => {
          editor.chain().focus().deleteRange(range).run()
          COMMANDS[item.id](editor, options)
        },
        render: () => createMenuRenderer(),
      }),
    ]
  },
})

/** The menu's DOM and keyboard handling, for one editor. */
function createMenuRenderer() {
  let props: SuggestionProps<SlashItem, SlashItem> | null = null
  let items: SlashItem[] = []
  let active = 0
  let unmount: (() => void) | null = null
  const listbox = h('div', { id: LISTBOX_ID, class: 'slash-menu', role: 'listbox', 'aria-label': 'Insert a block' })

  const optionId = (item: SlashItem) => `${LISTBOX_ID}-${item.id}`
  const editorDom = () => props?.editor.view.dom ?? null

  const choose = (index: number) => {
    const item = items[index]
    if (item && props) props.command(item)
  }

  const render = () => {
    listbox.replaceChildren(
      ...items.map((item, index) => {
        const option = h(
          'div',
          { id: optionId(item), class: 'slash-menu__item', role: 'option', 'aria-selected': String(index === active), 'data-item': item.id },
          h('span', { class: 'slash-menu__icon' }, blockIcon(item.id, 18)),
          h('span', { class: 'slash-menu__text' }, h('span', { class: 'slash-menu__title' }, item.title), h('span', { class: 'slash-menu__description' }, item.description)),
        )
        // Keep the caret in the editor: the menu never takes focus.
        option.addEventListener('mousedown', (event) => event.preventDefault())
        option.addEventListener('mousemove', () => {
          if (active !== index) setActive(index)
        })
        option.addEventListener('click', () => choose(index))
        return option
      }),
    )
    const dom = editorDom()
    const open = items.length > 0
    listbox.hidden = !open
    if (!dom) return
    if (open) {
      dom.setAttribute('aria-controls', LISTBOX_ID)
      dom.setAttribute('aria-expanded', 'true')
      dom.setAttribute('aria-activedescendant', optionId(items[active]))
    } else clearAria()
  }

  const setActive = (index: number) => {
    active = index
    listbox.querySelectorAll('[role="option"]').forEach((option, i) => option.setAttribute('aria-selected', String(i === index)))
    const item = items[index]
    if (item) {
      editorDom()?.setAttribute('aria-activedescendant', optionId(item))
      listbox.querySelector(`#${optionId(item)}`)?.scrollIntoView({ block: 'nearest' })
    }
  }

  const clearAria = () => {
    const dom = editorDom()
    dom?.removeAttribute('aria-controls')
    dom?.removeAttribute('aria-expanded')
    dom?.removeAttribute('aria-activedescendant')
  }

  const update = (next: SuggestionProps<SlashItem, SlashItem>) => {
    const queryChanged = props?.query !== next.query
    props = next
    // While items load (the first render), keep what is shown; an empty list closes the menu.
    if (next.loading) return
    items = next.items
    if (queryChanged || active >= items.length) active = 0
    render()
  }

  return {
    onStart: (next: SuggestionProps<SlashItem, SlashItem>) => {
      props = next
      listbox.hidden = true
      unmount = next.mount(listbox)
      update(next)
    },
    onUpdate: update,
    onKeyDown: ({ event }: SuggestionKeyDownProps) => {
      if (event.key === 'Escape') return true
      if (!items.length || listbox.hidden) return false
      switch (event.key) {
        case 'ArrowDown':
          setActive(moveActive(active, 1, items.length))
          return true
        case 'ArrowUp':
          setActive(moveActive(active, -1, items.length))
          return true
        case 'Enter':
        case 'Tab':
          if (event.shiftKey || event.ctrlKey || event.metaKey || event.altKey) return false
          choose(active)
          return true
        default:
          return false
      }
    },
    onExit: () => {
      clearAria()
      unmount?.()
      unmount = null
      props = null
      items = []
      active = 0
    },
  }
}
