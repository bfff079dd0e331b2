/**
 * The report editor page: header (status, presence, link), formatting
 * toolbar, collaborative title and body.
 */

import { Editor } from '@tiptap/core'
import Collaboration from '@tiptap/extension-collaboration'
import CollaborationCaret from '@tiptap/extension-collaboration-caret'
import { TaskItem, TaskList } from '@tiptap/extension-list'
import { Placeholder } from '@tiptap/extensions'
import StarterKit from '@tiptap/starter-kit'
import * as Y from 'yjs'

import type { Identity } from '../identity'
import type { RecentReports } from '../recentReports'
import { LOCAL_TITLE_ORIGIN, ReportSession } from '../session'
import { CommentHighlights } from '../comments/highlights'
import { PanelGrid } from '../panels/panelGrid'
import { bindTitle } from '../titleBinding'
import { createCommentsSidebar, type CommentsSidebar } from './commentsSidebar'
import { h } from './dom'
import { icon } from './icons'
import { createPresenceBar } from './presenceBar'
import { createStatusBadge } from './statusBadge'
import { openInsertGridDialog } from './insertGridForm'
import { createToolbar } from './toolbar'

export interface ReportPageDeps {
  reportId: string
  wsBase: string
  identity: Identity
  recent: RecentReports
  storage: Storage
  onUnauthorized?: () => void
  onRevoked?: () => void
}

export function renderReportPage(root: HTMLElement, deps: ReportPageDeps): () => void {
  const { reportId, identity, recent } = deps
  const session = new ReportSession({
    reportId,
    wsBase: deps.wsBase,
    identity,
    storage: deps.storage,
    onUnauthorized: deps.onUnauthorized,
    onRevoked: deps.onRevoked,
  })
  recent.opened(reportId)

  const title = h('textarea', {
    class: 'report__title',
    rows: 1,
    placeholder: 'Untitled report',
    'aria-label': 'Report title',
    spellcheck: 'true',
  })
  const bodyHost = h('div', { class: 'report__body' })

  let sidebar: CommentsSidebar | null = null
  const editor = new Editor({
    element: bodyHost,
    extensions: [
      StarterKit.configure({
        // Collaboration brings its own undo, which only undoes this person's edits.
        undoRedo: false,
        // Appending a paragraph on every client after remote edits duplicates them.
        trailingNode: false,
        heading: { levels: [1, 2, 3] },
        link: { openOnClick: false, autolink: true, defaultProtocol: 'https' },
      }),
      TaskList,
      TaskItem.configure({ nested: true }),
      Placeholder.configure({ placeholder: 'Write your report…  (# for a heading, - for a list, [ ] for a checklist)' }),
      Collaboration.configure({ fragment: session.body }),
      PanelGrid.configure({ doc: session.doc, commentOnPanel: (panelId) => sidebar?.startPanelThread(panelId) }),
      CommentHighlights.configure({ commentsDoc: session.commentsDoc, activeThread: () => sidebar?.activeThread() ?? null }),
      CollaborationCaret.configure({
        provider: session.provider,
        user: { ...identity },
        render: renderCaret,
      }),
    ],
    editorProps: {
      attributes: {
        id: 'report-body',
        class: 'prose',
        role: 'textbox',
        'aria-multiline': 'true',
        'aria-label': 'Report body',
      },
    },
  })

  sidebar = createCommentsSidebar({
    doc: session.commentsDoc,
    editor,
    me: identity,
    nameOf: (userId) => peopleNames(session).get(userId) ?? 'Someone',
    panelTitle: (panelId) => panelTitleOf(session, panelId),
  })
  const comments = sidebar
  const toolbar = createToolbar(editor, [
    { icon: 'chart', label: 'Insert panel grid', run: (e) => openInsertGridDialog(e, session.doc) },
    { icon: 'comment', label: 'Comment on selection', run: () => comments.startThread() },
  ])
  const status = createStatusBadge(session)
  const presence = createPresenceBar(session.provider.awareness, identity.id)
  const copyLink = h(
    'button',
    { type: 'button', class: 'button button--ghost button--small', title: 'Copy a link to this report' },
    icon('copy', 16),
    h('span', { class: 'copy-link__label' }, 'Copy link'),
  )
  copyLink.addEventListener('click', () => {
    void navigator.clipboard.writeText(window.location.href).then(
      () => flash(copyLink, 'Link copied'),
      () => flash(copyLink, 'Copy failed'),
    )
  })

  root.replaceChildren(
    h(
      'header',
      { class: 'topbar' },
      h('a', { href: '/', class: 'brand', 'aria-label': 'coreport home' }, 'coreport'),
      status.element,
      h('div', { class: 'topbar__spacer' }),
      presence.element,
      copyLink,
    ),
    h(
      'main',
      { class: 'report', id: 'main' },
      h('div', { class: 'report__toolbar' }, toolbar.element),
      h('div', { class: 'report__columns' }, h('article', { class: 'report__page' }, status.banner, title, bodyHost), comments.element),
    ),
  )

  // Title: shared text, single line; Enter and ArrowDown at the end continue in the body.
  const unbindTitle = bindTitle(title, session.title, LOCAL_TITLE_ORIGIN)
  const onTitleKey = (event: KeyboardEvent) => {
    const atEnd = title.selectionStart === title.value.length
    if (event.key === 'Enter' || (event.key === 'ArrowDown' && atEnd)) {
      event.preventDefault()
      editor.commands.focus('start')
    }
  }
  title.addEventListener('keydown', onTitleKey)
  const fitTitle = () => {
    title.style.height = 'auto'
    title.style.height = `${title.scrollHeight}px`
  }
  const onTitleChange = () => {
    const text = session.title.toString()
    document.title = `${text.trim() || 'Untitled report'} · coreport`
    recent.retitle(reportId, text)
    fitTitle()
  }
  session.title.observe(onTitleChange)
  title.addEventListener('input', fitTitle)
  window.addEventListener('resize', fitTitle)
  onTitleChange()

  return () => {
    title.removeEventListener('keydown', onTitleKey)
    title.removeEventListener('input', fitTitle)
    window.removeEventListener('resize', fitTitle)
    session.title.unobserve(onTitleChange)
    unbindTitle()
    comments.destroy()
    toolbar.destroy()
    status.destroy()
    presence.destroy()
    editor.destroy()
    session.destroy()
  }
}

/** Names of everyone present, by user id (awareness `user` states). */
function peopleNames(session: ReportSession): Map<string, string> {
  const names = new Map<string, string>()
  for (const state of session.provider.awareness.getStates().values()) {
    const user = (state as { user?: { id?: unknown; name?: unknown } }).user
    if (typeof user?.id === 'string' && typeof user.name === 'string') names.set(user.id, user.name)
  }
  return names
}

function panelTitleOf(session: ReportSession, panelId: string): string {
  const panel = session.doc.getMap('panels').get(panelId)
  const title = panel instanceof Y.Map ? panel.get('title') : undefined
  return typeof title === 'string' && title ? title : 'Untitled panel'
}

/** Another person's caret: a coloured bar with their name above it. */
function renderCaret(user: Record<string, unknown>): HTMLElement {
  const color = String(user.color)
  const name = typeof user.name === 'string' ? user.name : 'Someone'
  const caret = h('span', { class: 'collaboration-carets__caret', style: `border-color: ${color}` })
  caret.append(h('span', { class: 'collaboration-carets__label', style: `background-color: ${color}` }, name))
  return caret
}

function flash(button: HTMLButtonElement, message: string): void {
  const label = button.querySelector('.copy-link__label')
  if (!label) return
  const original = label.textContent
  label.textContent = message
  window.setTimeout(() => {
    label.textContent = original
  }, 1500)
}
