/**
 * The report editor page: header (status, your access, presence, link, share,
 * history, export), formatting toolbar, collaborative title and body. The
 * page follows the person's role: a viewer's or commenter's editor, title and
 * editing buttons are read-only.
 */

import { Editor } from '@tiptap/core'
import Collaboration from '@tiptap/extension-collaboration'
import CollaborationCaret from '@tiptap/extension-collaboration-caret'
import { Placeholder } from '@tiptap/extensions'
import { messageAuth } from 'y-websocket'
import * as Y from 'yjs'

import './reportPage.css'

import { ApiError, getMyAccess, type Role } from '../api'
import type { Identity } from '../identity'
import type { RecentReports } from '../recentReports'
import { LOCAL_TITLE_ORIGIN, ReportSession } from '../session'
import { authorLabel } from '../comments/authors'
import { CommentHighlights } from '../comments/highlights'
import { blockExtensions } from '../editor/extensions'
import { createFollowMode } from '../follow/followMode'
import { PanelGrid } from '../panels/panelGrid'
import { bindTitle } from '../titleBinding'
import { createCommentsSidebar, type CommentsSidebar } from './commentsSidebar'
import { h } from './dom'
import { createExportMenu } from './exportMenu'
import { openHistoryDrawer } from './historyDrawer'
import { icon } from './icons'
import { KnownRole, type HeardRole } from './knownRole'
import type { Modal } from './modal'
import { createPresenceBar } from './presenceBar'
import { capabilitiesOf, roleSentence } from './roles'
import { openShareDialog } from './shareDialog'
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
  /** Display names by user id: yours, and everyone present. */
  const nameOf = (userId: string): string | undefined => (userId === identity.id ? identity.name : peopleNames(session).get(userId))
  const editor = new Editor({
    element: bodyHost,
    extensions: [
      // Every block of docs/document-schema.md, the slash menu and Markdown paste (src/editor/).
      ...blockExtensions({ insertPanelGrid: (e) => openInsertGridDialog(e, session.doc) }),
      Placeholder.configure({
        placeholder: 'Write your report…  (/ for blocks, # for a heading, - for a list)',
        // Only the block with the caret: TipTap then resolves the caret instead of scanning
        // every block on each update (which a 5,000-block report feels on every keystroke).
        showOnlyCurrent: true,
        includeChildren: false,
      }),
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
    nameOf: (userId) => authorLabel(userId, nameOf(userId)),
    panelTitle: (panelId) => panelTitleOf(session, panelId),
    reportId,
    awareness: session.provider.awareness,
  })
  const comments = sidebar
  const toolbar = createToolbar(editor, [
    { icon: 'chart', label: 'Insert panel grid', run: (e) => openInsertGridDialog(e, session.doc) },
    { icon: 'comment', label: 'Comment on selection', run: () => comments.startThread(), needs: 'comment' },
  ])
  const status = createStatusBadge(session)
  // Follow mode: where everyone looks travels in awareness; the view top is below the sticky bars.
  const follow = createFollowMode({
    awareness: session.provider.awareness,
    editor,
    doc: session.doc,
    body: session.body,
    selfKey: identity.id,
    topLine: () => toolbar.element.getBoundingClientRect().bottom,
  })
  const presence = createPresenceBar(session.provider.awareness, identity.id, follow)
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

  // Share, history, export: dialogs open one at a time and give focus back to their button.
  let openDialog: Modal | null = null
  const dialogButton = (text: string, label: string, open: (opener: HTMLButtonElement) => Modal) => {
    const button = h('button', { type: 'button', class: 'button button--ghost button--small', 'aria-label': label, title: label, 'aria-haspopup': 'dialog' }, text)
    button.addEventListener('click', () => {
      if (openDialog) return
      openDialog = open(button)
    })
    return button
  }
  const closed = () => {
    openDialog = null
  }
  const shareButton = dialogButton('Share', 'Share this report', (opener) =>
    openShareDialog({
      reportId,
      title: () => session.title.toString(),
      me: identity.id,
      nameOf,
      panels: () => [...session.doc.getMap('panels').keys()].map((id) => ({ id, title: panelTitleOf(session, id) })),
      opener,
      onClose: closed,
    }),
  )
  const historyButton = dialogButton('History', 'Version history', (opener) =>
    openHistoryDrawer({ reportId, me: identity.id, nameOf, opener, onClose: closed }),
  )
  const exportMenu = createExportMenu({ reportId, title: () => session.title.toString() })
  const accessChip = h('span', { class: 'access-chip', hidden: true })

  root.replaceChildren(
    h(
      'header',
      { class: 'topbar' },
      h('a', { href: '/', class: 'brand', 'aria-label': 'coreport home' }, 'coreport'),
      status.element,
      accessChip,
      h('div', { class: 'topbar__spacer' }),
      presence.element,
      follow.presentButton,
      copyLink,
      shareButton,
      historyButton,
      exportMenu.element,
    ),
    h(
      'main',
      { class: 'report', id: 'main' },
      h('div', { class: 'report__toolbar' }, toolbar.element),
      h('div', { class: 'report__columns' }, h('article', { class: 'report__page' }, status.banner, title, bodyHost), comments.element),
    ),
    follow.banner,
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

  // The person's role decides what the page lets them write (the server enforces it anyway).
  // The page starts from the role this browser last heard for this report, or, with none,
  // lets nobody write until the server answers: a viewer never sees an editable page.
  const knownRole = new KnownRole(deps.storage, identity.id, reportId)
  const applyRole = (role: HeardRole) => {
    const can = capabilitiesOf(role ?? null)
    if (editor.isEditable !== can.edit) editor.setEditable(can.edit, false)
    title.readOnly = !can.edit
    toolbar.setPermissions(can)
    // No chip while the role is not known: it would tell an editor "View only".
    accessChip.hidden = can.edit || role === undefined
    accessChip.textContent = can.comment ? 'Can comment' : 'View only'
    accessChip.title = roleSentence(role ?? null)
  }
  applyRole(knownRole.get())
  let everSynced = session.provider.synced
  // Asked before the first sync, "no access" may only mean that the report is not registered
  // yet: its socket registers a new id, with the person who opens it as its owner.
  const heard = (role: Role | null, afterSync: boolean) => {
    if (role === null && !afterSync) return
    knownRole.set(role)
    applyRole(role)
  }
  let accessRequest: { controller: AbortController; afterSync: boolean } | null = null
  const refreshAccess = () => {
    // One question at a time, but one asked before the first sync gives way to a new one.
    if (accessRequest && (accessRequest.afterSync || !everSynced)) return
    accessRequest?.controller.abort()
    const request = { controller: new AbortController(), afterSync: everSynced }
    accessRequest = request
    getMyAccess(reportId, request.controller.signal)
      .then(
        (access) => heard(access.role, request.afterSync),
        (error: unknown) => {
          if (error instanceof ApiError && error.status === 403) heard(null, request.afterSync)
          // Anything else (offline, aborted): keep what we had; the next sync asks again.
        },
      )
      .finally(() => {
        if (accessRequest === request) accessRequest = null
      })
  }
  const onSync = (synced: boolean) => {
    if (!synced) return
    everSynced = true
    refreshAccess()
  }
  session.provider.on('sync', onSync)
  // Asked at once, alongside the socket's sync, so that the answer usually comes first.
  refreshAccess()
  window.addEventListener('focus', refreshAccess)
  // The server answers a write the role does not allow with "permission denied" (y-protocols
  // auth message): the role changed while the page was open, so ask for it again.
  const handlers = session.provider.messageHandlers
  const readAuth = handlers[messageAuth]
  handlers[messageAuth] = (...args) => {
    readAuth(...args)
    refreshAccess()
  }

  return () => {
    accessRequest?.controller.abort()
    session.provider.off('sync', onSync)
    window.removeEventListener('focus', refreshAccess)
    openDialog?.close()
    exportMenu.destroy()
    title.removeEventListener('keydown', onTitleKey)
    title.removeEventListener('input', fitTitle)
    window.removeEventListener('resize', fitTitle)
    session.title.unobserve(onTitleChange)
    unbindTitle()
    comments.destroy()
    toolbar.destroy()
    status.destroy()
    presence.destroy()
    follow.destroy()
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
