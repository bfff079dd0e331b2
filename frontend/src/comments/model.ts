/**
 * The comments document's `threads` map (docs/document-schema.md, "Comments
 * document"): writing threads, replies, resolution, edits, deletions and
 * reactions as single-key changes (so concurrent ones merge), and reading it
 * back as plain objects for the sidebar.
 */

import * as Y from 'yjs'

export type Anchor =
  | { kind: 'text'; rel_start: Uint8Array; rel_end: Uint8Array; quote: string }
  | { kind: 'panel'; panel_id: string }
  | { kind: 'report' }

export interface Comment {
  id: string
  author: string
  text: string
  mentions: string[]
  createdAt: string
  editedAt: string | null
  deleted: boolean
  /** emoji -> user ids who reacted with it, in first-seen order. */
  reactions: Map<string, string[]>
}

export interface Thread {
  id: string
  anchor: Anchor
  resolved: boolean
  resolvedBy: string | null
  resolvedAt: string | null
  createdBy: string
  createdAt: string
  comments: Comment[]
}

export type ThreadFilter = 'open' | 'resolved' | 'all'

export interface Clock {
  now: () => Date
  newId: () => string
}

export const systemClock: Clock = {
  now: () => new Date(),
  newId: () => randomId(),
}

export function randomId(length = 12): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
  const bytes = crypto.getRandomValues(new Uint8Array(length))
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('')
}

export function threadsOf(doc: Y.Doc): Y.Map<Y.Map<unknown>> {
  return doc.getMap('threads')
}

function newComment(author: string, text: string, mentions: string[], clock: Clock): Y.Map<unknown> {
  const comment = new Y.Map<unknown>()
  comment.set('id', clock.newId())
  comment.set('author', author)
  comment.set('text', text)
  comment.set('mentions', mentions)
  comment.set('created_at', clock.now().toISOString())
  comment.set('edited_at', null)
  comment.set('deleted', false)
  comment.set('reactions', new Y.Map<string[]>())
  return comment
}

/** Start a thread with its first comment; returns the thread id. */
export function createThread(
  doc: Y.Doc,
  input: { anchor: Anchor; author: string; text: string; mentions?: string[] },
  clock: Clock = systemClock,
): string {
  const id = clock.newId()
  doc.transact(() => {
    const thread = new Y.Map<unknown>()
    thread.set('anchor', input.anchor)
    thread.set('resolved', false)
    thread.set('resolved_by', null)
    thread.set('resolved_at', null)
    thread.set('created_by', input.author)
    thread.set('created_at', clock.now().toISOString())
    const comments = new Y.Array<Y.Map<unknown>>()
    comments.push([newComment(input.author, input.text, input.mentions ?? [], clock)])
    thread.set('comments', comments)
    threadsOf(doc).set(id, thread)
  })
  return id
}

function threadMap(doc: Y.Doc, threadId: string): Y.Map<unknown> {
  const thread = threadsOf(doc).get(threadId)
  if (!thread) throw new Error(`no thread ${threadId}`)
  return thread
}

function commentMap(doc: Y.Doc, threadId: string, commentId: string): Y.Map<unknown> {
  const comments = threadMap(doc, threadId).get('comments') as Y.Array<Y.Map<unknown>>
  for (const comment of comments) if (comment.get('id') === commentId) return comment
  throw new Error(`no comment ${commentId} in thread ${threadId}`)
}

/** Add a comment to a thread; `mentions` are the user ids its text @mentions. */
export function reply(
  doc: Y.Doc,
  threadId: string,
  author: string,
  text: string,
  clock: Clock = systemClock,
  mentions: readonly string[] = [],
): void {
  const comments = threadMap(doc, threadId).get('comments') as Y.Array<Y.Map<unknown>>
  comments.push([newComment(author, text, [...mentions], clock)])
}

export function setResolved(doc: Y.Doc, threadId: string, resolved: boolean, by: string, clock: Clock = systemClock): void {
  const thread = threadMap(doc, threadId)
  doc.transact(() => {
    thread.set('resolved', resolved)
    thread.set('resolved_by', resolved ? by : null)
    thread.set('resolved_at', resolved ? clock.now().toISOString() : null)
  })
}

/** Only the author edits or deletes a comment; anyone else gets an error. */
function ownComment(doc: Y.Doc, threadId: string, commentId: string, user: string): Y.Map<unknown> {
  const comment = commentMap(doc, threadId, commentId)
  if (comment.get('author') !== user) throw new Error('only the author can change a comment')
  return comment
}

/** Change your comment's text (and, when given, whom it mentions). */
export function editComment(
  doc: Y.Doc,
  threadId: string,
  commentId: string,
  user: string,
  text: string,
  clock: Clock = systemClock,
  mentions?: readonly string[],
): void {
  const comment = ownComment(doc, threadId, commentId, user)
  doc.transact(() => {
    comment.set('text', text)
    if (mentions !== undefined) comment.set('mentions', [...mentions])
    comment.set('edited_at', clock.now().toISOString())
  })
}

export function deleteComment(doc: Y.Doc, threadId: string, commentId: string, user: string): void {
  const comment = ownComment(doc, threadId, commentId, user)
  doc.transact(() => {
    comment.set('text', '')
    comment.set('deleted', true)
  })
}

/** Add or take back `user`'s `emoji` reaction; a user writes only their own key. */
export function toggleReaction(doc: Y.Doc, threadId: string, commentId: string, user: string, emoji: string): void {
  const reactions = commentMap(doc, threadId, commentId).get('reactions') as Y.Map<string[]>
  const mine = reactions.get(user) ?? []
  const next = mine.includes(emoji) ? mine.filter((e) => e !== emoji) : [...mine, emoji]
  reactions.set(user, next)
}

function readComment(map: Y.Map<unknown>): Comment {
  const reactions = new Map<string, string[]>()
  const stored = map.get('reactions')
  if (stored instanceof Y.Map) {
    const users = [...(stored as Y.Map<string[]>).keys()].sort()
    for (const user of users) {
      for (const emoji of (stored as Y.Map<string[]>).get(user) ?? []) {
        const who = reactions.get(emoji) ?? []
        who.push(user)
        reactions.set(emoji, who)
      }
    }
  }
  return {
    id: String(map.get('id') ?? ''),
    author: String(map.get('author') ?? ''),
    text: String(map.get('text') ?? ''),
    mentions: stringList(map.get('mentions')),
    createdAt: String(map.get('created_at') ?? ''),
    editedAt: (map.get('edited_at') as string | null | undefined) ?? null,
    deleted: map.get('deleted') === true,
    reactions,
  }
}

/** A list of strings from the document; anything else (another client's bug) is empty. */
function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []
}

export function readThread(id: string, map: Y.Map<unknown>): Thread | null {
  const anchor = map.get('anchor') as Anchor | undefined
  const comments = map.get('comments')
  if (!anchor || !(comments instanceof Y.Array)) return null
  return {
    id,
    anchor,
    resolved: map.get('resolved') === true,
    resolvedBy: (map.get('resolved_by') as string | null | undefined) ?? null,
    resolvedAt: (map.get('resolved_at') as string | null | undefined) ?? null,
    createdBy: String(map.get('created_by') ?? ''),
    createdAt: String(map.get('created_at') ?? ''),
    comments: (comments as Y.Array<Y.Map<unknown>>).toArray().map(readComment),
  }
}

/** Every well-formed thread passing `filter`, oldest first. */
export function listThreads(doc: Y.Doc, filter: ThreadFilter = 'all'): Thread[] {
  const out: Thread[] = []
  for (const [id, map] of threadsOf(doc).entries()) {
    const thread = readThread(id, map)
    if (!thread) continue
    if (filter === 'open' && thread.resolved) continue
    if (filter === 'resolved' && !thread.resolved) continue
    out.push(thread)
  }
  return out.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : 1))
}
