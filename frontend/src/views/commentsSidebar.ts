/**
 * The comments sidebar: threads of the comments document, live for everyone.
 * New threads anchor to the editor's selection (or to the whole report, or to
 * a panel via `startPanelThread`); replies, resolve/reopen, edit/delete of
 * one's own comments, reactions, @mentions, and an open/resolved filter.
 */

import type { Editor } from '@tiptap/core'
import type { Awareness } from 'y-protocols/awareness'
import type * as Y from 'yjs'

import { bindingOf, encodeAnchor } from '../comments/anchors'
import { refreshHighlights } from '../comments/highlights'
import { createMentionField } from '../comments/mentionPicker'
import { mentionSegments, mentionsIn, type MentionPerson } from '../comments/mentions'
import {
  createThread,
  deleteComment,
  editComment,
  listThreads,
  reply,
  setResolved,
  systemClock,
  threadsOf,
  toggleReaction,
  type Anchor,
  type Comment,
  type Thread,
  type ThreadFilter,
} from '../comments/model'
import { loadServerPeople, mentionPeople, type ServerPeople } from '../comments/people'
import type { Identity } from '../identity'
import { timeAgo } from '../relativeTime'
import { h } from './dom'

export const REACTIONS = ['👍', '🎉', '❤️', '👀'] as const

export interface CommentsSidebarDeps {
  doc: Y.Doc
  editor: Editor
  me: Identity
  /** user id -> display name, for people we have seen (presence, comments). */
  nameOf: (userId: string) => string
  /** The title of a panel, for panel threads. */
  panelTitle: (panelId: string) => string
  /** The report, to offer its members for @mentions (when the caller may list them). */
  reportId?: string
  /** The report's presence: people here now can be @mentioned. */
  awareness?: Awareness
}

export interface CommentsSidebar {
  element: HTMLElement
  activeThread: () => string | null
  /** Open the new-comment form for a panel. */
  startPanelThread: (panelId: string) => void
  /** Open the new-comment form for the editor's selection (or the report). */
  startThread: () => void
  destroy: () => void
}

type Draft = { anchor: Anchor; label: string } | null

export function createCommentsSidebar(deps: CommentsSidebarDeps): CommentsSidebar {
  const { doc, editor, me } = deps
  let filter: ThreadFilter = 'open'
  let active: string | null = null
  let draft: Draft = null
  /** Which comment is being edited: `${threadId}/${commentId}`. */
  let editing: string | null = null
  /** Members and names from the server, asked for once someone starts writing. */
  let serverPeople: ServerPeople | null = null
  let askedServer = false

  const list = h('ol', { class: 'threads', 'aria-label': 'Comment threads' })
  const filterSelect = h(
    'select',
    { class: 'input input--small', 'aria-label': 'Show threads' },
    h('option', { value: 'open' }, 'Open'),
    h('option', { value: 'resolved' }, 'Resolved'),
    h('option', { value: 'all' }, 'All'),
  )
  filterSelect.addEventListener('change', () => {
    filter = filterSelect.value as ThreadFilter
    render()
  })
  const newButton = h('button', { type: 'button', class: 'button button--small', title: 'Comment on the selected text, or on the whole report' }, 'Comment')
  newButton.addEventListener('mousedown', (event) => event.preventDefault())
  newButton.addEventListener('click', () => startThread())
  const draftHost = h('div', { class: 'thread-draft' })
  const element = h(
    'aside',
    { class: 'comments', 'aria-label': 'Comments' },
    h('div', { class: 'comments__head' }, h('h2', { class: 'comments__title' }, 'Comments'), filterSelect, newButton),
    draftHost,
    list,
  )

  function startThread(): void {
    const { from, to, empty } = editor.state.selection
    const binding = bindingOf(editor.state)
    if (!empty && binding) {
      const quote = editor.state.doc.textBetween(from, to, ' ').slice(0, 280)
      draft = { anchor: { kind: 'text', ...encodeAnchor(binding, from, to), quote }, label: `“${quote}”` }
    } else {
      draft = { anchor: { kind: 'report' }, label: 'The whole report' }
    }
    renderDraft()
  }

  function startPanelThread(panelId: string): void {
    draft = { anchor: { kind: 'panel', panel_id: panelId }, label: `Panel: ${deps.panelTitle(panelId)}` }
    renderDraft()
  }

  function renderDraft(): void {
    if (!draft) {
      draftHost.replaceChildren()
      return
    }
    const current = draft
    const text = h('textarea', { class: 'input comment-input', rows: 3, 'aria-label': 'New comment', placeholder: 'Write a comment… (@ to mention someone)' })
    const field = createMentionField(text, people)
    const post = h('button', { type: 'submit', class: 'button button--primary button--small' }, 'Post')
    const cancel = h('button', { type: 'button', class: 'button button--ghost button--small' }, 'Cancel')
    const form = h('form', { class: 'thread thread--draft' }, h('p', { class: 'thread__anchor' }, current.label), field.element, h('div', { class: 'thread__actions' }, post, cancel))
    form.addEventListener('submit', (event) => {
      event.preventDefault()
      const body = text.value.trim()
      if (!body) return
      active = createThread(doc, { anchor: current.anchor, author: me.id, text: body, mentions: field.mentions() })
      rememberName()
      draft = null
      renderDraft()
      filter = filter === 'resolved' ? 'open' : filter
      filterSelect.value = filter
      refreshEditor()
    })
    cancel.addEventListener('click', () => {
      draft = null
      renderDraft()
    })
    text.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) form.requestSubmit()
      if (event.key === 'Escape') cancel.click()
    })
    draftHost.replaceChildren(form)
    text.focus()
  }

  /** Names travel with the thread map so readers who never met the author see them. */
  function rememberName(): void {
    const names = doc.getMap<string>('names')
    if (names.get(me.id) !== me.name) names.set(me.id, me.name)
  }

  function nameOf(userId: string): string {
    if (userId === me.id) return me.name
    return doc.getMap<string>('names').get(userId) ?? serverPeople?.names.get(userId) ?? deps.nameOf(userId)
  }

  /** user id -> name of everyone present now (awareness `user` states). */
  function presentNames(): Map<string, string> {
    const names = new Map<string, string>()
    for (const state of deps.awareness?.getStates().values() ?? []) {
      const user = (state as { user?: { id?: unknown; name?: unknown } }).user
      if (typeof user?.id === 'string' && typeof user.name === 'string') names.set(user.id, user.name)
    }
    return names
  }

  /** Whom a comment may mention: members, people here, people who commented. */
  function people(): MentionPerson[] {
    const stored = doc.getMap<string>('names')
    const present = presentNames()
    const authors = listThreads(doc).flatMap((thread) => thread.comments.map((comment) => comment.author))
    return mentionPeople({
      members: serverPeople?.members ?? null,
      names: [new Map(stored.entries()), present, serverPeople?.names ?? new Map<string, string>()],
      seen: [...present.keys(), ...stored.keys(), ...authors],
      self: me.id,
    })
  }

  /** Ask the server for the members once, when someone first starts to write. */
  function askServerForPeople(): void {
    if (askedServer || deps.reportId === undefined) return
    askedServer = true
    void loadServerPeople(deps.reportId).then((found) => {
      serverPeople = found
    })
  }

  /**
   * Whom an edited comment mentions: what its box found, plus earlier mentions (people
   * perhaps no longer offered) whose `@Name` the text still has.
   */
  function mentionsAfterEdit(comment: Comment, text: string, found: readonly string[]): string[] {
    const earlier = mentionsIn(text, comment.mentions.map((id) => ({ id, name: nameOf(id) })))
    return [...new Set([...found, ...earlier])]
  }

  /** `text` with the mentions of `comment.mentions` marked (yours more strongly). */
  function commentText(comment: Comment): Array<HTMLElement | string> {
    const mentioned = comment.mentions.map((id) => ({ id, name: nameOf(id) }))
    return mentionSegments(comment.text, mentioned).map((segment) =>
      'mention' in segment
        ? h('span', { class: segment.mention === me.id ? 'mention mention--me' : 'mention', 'data-user-id': segment.mention }, segment.text)
        : segment.text,
    )
  }

  function refreshEditor(): void {
    if (!editor.isDestroyed) editor.view.dispatch(refreshHighlights(editor.state.tr))
  }

  function select(threadId: string): void {
    active = active === threadId ? null : threadId
    render()
    refreshEditor()
  }

  function renderComment(thread: Thread, comment: Comment): HTMLElement {
    const key = `${thread.id}/${comment.id}`
    const mine = comment.author === me.id
    const item = h('li', { class: 'comment', 'data-comment-id': comment.id })
    const head = h(
      'div',
      { class: 'comment__head' },
      h('span', { class: 'comment__author' }, nameOf(comment.author)),
      h('time', { class: 'comment__time', datetime: comment.createdAt, title: comment.createdAt }, timeAgo(Date.parse(comment.createdAt), Date.now())),
      comment.editedAt && !comment.deleted ? h('span', { class: 'comment__edited' }, '(edited)') : null,
    )
    item.append(head)
    if (editing === key) {
      const input = h('textarea', { class: 'input comment-input', rows: 2, 'aria-label': 'Edit comment' })
      input.value = comment.text
      const field = createMentionField(input, people)
      const save = h('button', { type: 'submit', class: 'button button--primary button--small' }, 'Save')
      const cancel = h('button', { type: 'button', class: 'button button--ghost button--small' }, 'Cancel')
      const form = h('form', { class: 'comment__edit' }, field.element, h('div', { class: 'thread__actions' }, save, cancel))
      form.addEventListener('submit', (event) => {
        event.preventDefault()
        editing = null
        const text = input.value.trim()
        if (text) editComment(doc, thread.id, comment.id, me.id, text, systemClock, mentionsAfterEdit(comment, text, field.mentions()))
        else render()
      })
      cancel.addEventListener('click', () => {
        editing = null
        render()
      })
      item.append(form)
      queueMicrotask(() => input.focus())
      return item
    }
    item.append(h('p', { class: comment.deleted ? 'comment__text comment__text--deleted' : 'comment__text' }, ...(comment.deleted ? ['Comment deleted'] : commentText(comment))))
    if (comment.deleted) return item
    const bar = h('div', { class: 'comment__bar' })
    for (const emoji of REACTIONS) {
      const who = comment.reactions.get(emoji) ?? []
      const pressed = who.includes(me.id)
      if (who.length === 0 && !pressed) continue
      bar.append(reactionButton(thread, comment, emoji, who.length, pressed))
    }
    const add = h('details', { class: 'reaction-picker' }, h('summary', { 'aria-label': 'Add a reaction', title: 'Add a reaction' }, '☺+'))
    const choices = h('div', { class: 'reaction-picker__choices' })
    for (const emoji of REACTIONS) {
      const choice = h('button', { type: 'button', class: 'reaction', 'aria-label': `React ${emoji}` }, emoji)
      choice.addEventListener('click', () => toggleReaction(doc, thread.id, comment.id, me.id, emoji))
      choices.append(choice)
    }
    add.append(choices)
    bar.append(add)
    if (mine) {
      const edit = h('button', { type: 'button', class: 'link-button' }, 'Edit')
      edit.addEventListener('click', () => {
        editing = key
        render()
      })
      const remove = h('button', { type: 'button', class: 'link-button' }, 'Delete')
      remove.addEventListener('click', () => deleteComment(doc, thread.id, comment.id, me.id))
      bar.append(edit, remove)
    }
    item.append(bar)
    return item
  }

  function reactionButton(thread: Thread, comment: Comment, emoji: string, count: number, pressed: boolean): HTMLElement {
    const button = h(
      'button',
      { type: 'button', class: 'reaction', 'aria-pressed': String(pressed), 'aria-label': `${emoji} ${count}` },
      `${emoji} ${count}`,
    )
    button.addEventListener('click', () => toggleReaction(doc, thread.id, comment.id, me.id, emoji))
    return button
  }

  function anchorLabel(thread: Thread): string {
    switch (thread.anchor.kind) {
      case 'text':
        return `“${thread.anchor.quote}”`
      case 'panel':
        return `Panel: ${deps.panelTitle(thread.anchor.panel_id)}`
      default:
        return 'The whole report'
    }
  }

  function renderThread(thread: Thread): HTMLElement {
    const classes = ['thread']
    if (thread.id === active) classes.push('thread--active')
    if (thread.resolved) classes.push('thread--resolved')
    const item = h('li', { class: classes.join(' '), 'data-thread-id': thread.id, 'data-anchor': thread.anchor.kind })
    const anchor = h('button', { type: 'button', class: 'thread__anchor', 'aria-expanded': String(thread.id === active) }, anchorLabel(thread))
    anchor.addEventListener('click', () => select(thread.id))
    const comments = h('ol', { class: 'thread__comments' }, ...thread.comments.map((c) => renderComment(thread, c)))
    const resolve = h('button', { type: 'button', class: 'button button--ghost button--small' }, thread.resolved ? 'Reopen' : 'Resolve')
    resolve.addEventListener('click', () => setResolved(doc, thread.id, !thread.resolved, me.id))
    const replyInput = h('input', { class: 'input input--small', 'aria-label': 'Reply', placeholder: 'Reply…' })
    const replyField = createMentionField(replyInput, people)
    const replyForm = h('form', { class: 'thread__reply' }, replyField.element)
    replyForm.addEventListener('submit', (event) => {
      event.preventDefault()
      const text = replyInput.value.trim()
      if (!text) return
      reply(doc, thread.id, me.id, text, systemClock, replyField.mentions())
      rememberName()
    })
    item.append(anchor, comments)
    if (thread.resolved && thread.resolvedBy) item.append(h('p', { class: 'thread__status' }, `Resolved by ${nameOf(thread.resolvedBy)}`))
    item.append(h('div', { class: 'thread__actions' }, replyForm, resolve))
    return item
  }

  function render(): void {
    // Keep what someone is typing in a reply box across live re-renders.
    const focused = document.activeElement
    const focusedThread = focused instanceof HTMLInputElement ? focused.closest<HTMLElement>('.thread')?.dataset.threadId : undefined
    const typed = focused instanceof HTMLInputElement ? focused.value : ''
    const threads = listThreads(doc, filter)
    list.replaceChildren(...threads.map(renderThread))
    if (threads.length === 0) list.append(h('li', { class: 'threads__empty' }, filter === 'resolved' ? 'No resolved threads.' : 'No comments yet. Select text and press Comment.'))
    if (focusedThread) {
      const input = list.querySelector<HTMLInputElement>(`.thread[data-thread-id="${CSS.escape(focusedThread)}"] .thread__reply input`)
      if (input) {
        input.value = typed
        input.focus()
      }
    }
  }

  element.addEventListener('focusin', askServerForPeople)

  const threads = threadsOf(doc)
  const onChange = () => render()
  threads.observeDeep(onChange)
  doc.getMap('names').observe(onChange)

  // Clicking highlighted words selects their thread.
  const onEditorClick = (event: MouseEvent) => {
    const mark = (event.target as Element).closest<HTMLElement>('.comment-highlight')
    const id = mark?.dataset.threadId
    if (id && id !== active) select(id)
  }
  editor.view.dom.addEventListener('click', onEditorClick)
  render()

  return {
    element,
    activeThread: () => active,
    startPanelThread,
    startThread,
    destroy() {
      threads.unobserveDeep(onChange)
      doc.getMap('names').unobserve(onChange)
      editor.view.dom.removeEventListener('click', onEditorClick)
      element.removeEventListener('focusin', askServerForPeople)
    },
  }
}

