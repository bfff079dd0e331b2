/**
 * The formatting toolbar: one tab stop (arrow keys move between buttons, as
 * WAI-ARIA's toolbar pattern asks), pressed state mirrors the selection, and a
 * small inline form edits links.
 */

import type { Editor } from '@tiptap/core'

import { h } from './dom'
import { icon, type IconName } from './icons'

export interface Action {
  icon: IconName
  label: string
  /** Shown in the tooltip and announced via aria-keyshortcuts. */
  keys?: string
  run: (editor: Editor) => void
  /** Toggle buttons expose aria-pressed. */
  active?: (editor: Editor) => boolean
  enabled?: (editor: Editor) => boolean
  /** What the person's role must allow for this action; default "edit". */
  needs?: keyof Permissions
}

/** What the person may write; a role without it shows the matching buttons disabled. */
export interface Permissions {
  edit: boolean
  comment: boolean
}

export interface Toolbar {
  element: HTMLElement
  /** Follow the person's role (e.g. a viewer's toolbar is all disabled). */
  setPermissions: (permissions: Permissions) => void
  destroy: () => void
}

const GROUPS: Action[][] = [
  [
    { icon: 'undo', label: 'Undo', keys: 'Control+Z', run: (e) => e.chain().focus().undo().run(), enabled: (e) => e.can().undo() },
    { icon: 'redo', label: 'Redo', keys: 'Control+Shift+Z', run: (e) => e.chain().focus().redo().run(), enabled: (e) => e.can().redo() },
  ],
  [
    { icon: 'paragraph', label: 'Text', keys: 'Control+Alt+0', run: (e) => e.chain().focus().setParagraph().run(), active: isPlainText },
    ...([1, 2, 3] as const).map(
      (level): Action => ({
        icon: `heading${level}`,
        label: `Heading ${level}`,
        keys: `Control+Alt+${level}`,
        run: (e) => e.chain().focus().toggleHeading({ level }).run(),
        active: (e) => e.isActive('heading', { level }),
      }),
    ),
  ],
  [
    { icon: 'bold', label: 'Bold', keys: 'Control+B', run: (e) => e.chain().focus().toggleBold().run(), active: (e) => e.isActive('bold') },
    { icon: 'italic', label: 'Italic', keys: 'Control+I', run: (e) => e.chain().focus().toggleItalic().run(), active: (e) => e.isActive('italic') },
    { icon: 'strike', label: 'Strikethrough', keys: 'Control+Shift+S', run: (e) => e.chain().focus().toggleStrike().run(), active: (e) => e.isActive('strike') },
    { icon: 'code', label: 'Inline code', keys: 'Control+E', run: (e) => e.chain().focus().toggleCode().run(), active: (e) => e.isActive('code') },
  ],
  [
    { icon: 'bulletList', label: 'Bulleted list', keys: 'Control+Shift+8', run: (e) => e.chain().focus().toggleBulletList().run(), active: (e) => e.isActive('bulletList') },
    { icon: 'orderedList', label: 'Numbered list', keys: 'Control+Shift+7', run: (e) => e.chain().focus().toggleOrderedList().run(), active: (e) => e.isActive('orderedList') },
    { icon: 'taskList', label: 'Checklist', keys: 'Control+Shift+9', run: (e) => e.chain().focus().toggleTaskList().run(), active: (e) => e.isActive('taskList') },
  ],
  [
    { icon: 'quote', label: 'Quote', keys: 'Control+Shift+B', run: (e) => e.chain().focus().toggleBlockquote().run(), active: (e) => e.isActive('blockquote') },
    { icon: 'codeBlock', label: 'Code block', keys: 'Control+Alt+C', run: (e) => e.chain().focus().toggleCodeBlock().run(), active: (e) => e.isActive('codeBlock') },
    { icon: 'divider', label: 'Divider', run: (e) => e.chain().focus().setHorizontalRule().run() },
  ],
]

/** A paragraph that is not inside a list or quote: "Text" is the block type. */
function isPlainText(editor: Editor): boolean {
  return (
    editor.isActive('paragraph') &&
    !['bulletList', 'orderedList', 'taskList', 'blockquote'].some((name) => editor.isActive(name))
  )
}

export function createToolbar(editor: Editor, extra: Action[] = []): Toolbar {
  const refreshers: Array<() => void> = []
  let permissions: Permissions = { edit: true, comment: true }

  const button = (action: Action) => {
    const tooltip = action.keys ? `${action.label} (${action.keys.replace(/Control/g, 'Ctrl')})` : action.label
    const el = h(
      'button',
      { type: 'button', class: 'tool', 'aria-label': action.label, title: tooltip, 'aria-keyshortcuts': action.keys, tabindex: -1 },
      icon(action.icon),
    )
    // Keep the editor's selection: pressing a button must not move focus first.
    el.addEventListener('mousedown', (event) => event.preventDefault())
    el.addEventListener('click', () => {
      if (el.getAttribute('aria-disabled') !== 'true') action.run(editor)
    })
    refreshers.push(() => {
      if (action.active) el.setAttribute('aria-pressed', String(action.active(editor)))
      // aria-disabled, not disabled: a disabled button drops out of the focus
      // order, which would break the toolbar's single tab stop.
      const usable = permissions[action.needs ?? 'edit'] && (!action.enabled || action.enabled(editor))
      if (action.enabled || !usable) el.setAttribute('aria-disabled', String(!usable))
      else el.removeAttribute('aria-disabled')
    })
    return el
  }

  const linkForm = createLinkForm(editor)
  const linkButton = button({
    icon: 'link',
    label: 'Link',
    keys: 'Control+K',
    run: () => linkForm.open(),
    active: (e) => e.isActive('link'),
  })

  const groups = [...GROUPS, ...(extra.length ? [extra] : [])].map((group, index) =>
    h('div', { class: 'toolbar__group', role: 'group' }, ...group.map(button), index === 2 ? linkButton : null),
  )
  const element = h(
    'div',
    { class: 'toolbar', role: 'toolbar', 'aria-label': 'Formatting', 'aria-controls': 'report-body' },
    ...groups,
    linkForm.element,
  )
  // In visual order, which is the order arrow keys follow.
  const buttons = Array.from(element.querySelectorAll<HTMLButtonElement>('button.tool'))
  buttons[0].tabIndex = 0

  // Roving tab stop: arrows move focus within the toolbar, Tab leaves it.
  element.addEventListener('keydown', (event) => {
    const index = buttons.indexOf(document.activeElement as HTMLButtonElement)
    if (index < 0) return
    const next = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: buttons.length - 1 }[event.key]
    if (next === undefined) return
    event.preventDefault()
    const target = buttons[(next + buttons.length) % buttons.length]
    for (const b of buttons) b.tabIndex = b === target ? 0 : -1
    target.focus()
  })

  const refresh = () => refreshers.forEach((r) => r())
  const onShortcut = (event: KeyboardEvent) => {
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === 'k' && editor.isFocused && permissions.edit) {
      event.preventDefault()
      linkForm.open()
    }
  }
  editor.on('transaction', refresh)
  editor.view.dom.addEventListener('keydown', onShortcut)
  refresh()
  return {
    element,
    setPermissions: (next) => {
      permissions = { ...next }
      if (!permissions.edit) linkForm.element.hidden = true
      refresh()
    },
    destroy: () => {
      editor.off('transaction', refresh)
      editor.view.dom.removeEventListener('keydown', onShortcut)
    },
  }
}

/** Edit the link at the selection: Enter applies, an empty address removes it, Escape cancels. */
function createLinkForm(editor: Editor): { element: HTMLElement; open: () => void } {
  const input = h('input', {
    type: 'url',
    class: 'link-form__input',
    id: 'link-address',
    placeholder: 'https://…',
    autocomplete: 'off',
  })
  const element = h(
    'form',
    { class: 'link-form', hidden: true, 'aria-label': 'Edit link' },
    h('label', { for: 'link-address', class: 'link-form__label' }, 'Link'),
    input,
    h('button', { type: 'submit', class: 'button button--small' }, 'Apply'),
    h('button', { type: 'button', class: 'button button--small button--ghost', 'data-action': 'remove' }, 'Remove'),
  )
  const close = () => {
    element.hidden = true
    editor.commands.focus()
  }
  element.addEventListener('submit', (event) => {
    event.preventDefault()
    const href = input.value.trim()
    const chain = editor.chain().focus().extendMarkRange('link')
    if (href) chain.setLink({ href: /^[a-z][a-z0-9+.-]*:/i.test(href) ? href : `https://${href}` }).run()
    else chain.unsetLink().run()
    element.hidden = true
  })
  element.querySelector('[data-action="remove"]')!.addEventListener('click', () => {
    editor.chain().focus().extendMarkRange('link').unsetLink().run()
    element.hidden = true
  })
  element.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.preventDefault()
      close()
    }
  })
  return {
    element,
    open: () => {
      input.value = (editor.getAttributes('link').href as string | undefined) ?? ''
      element.hidden = false
      input.focus()
      input.select()
    },
  }
}
