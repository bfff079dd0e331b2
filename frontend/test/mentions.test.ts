import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'

import { filterPeople, insertMention, mentionQueryAt, mentionSegments, mentionsIn } from '../src/comments/mentions'
import { createThread, editComment, listThreads, reply, type Clock } from '../src/comments/model'
import { mentionPeople } from '../src/comments/people'

const ADA = { id: 'u_ada', name: 'Ada Lovelace' }
const ALAN = { id: 'u_alan', name: 'Alan Turing' }
const GRACE = { id: 'u_grace', name: 'Grace Hopper' }
const EMIL = { id: 'u_emil', name: 'Émile Borel' }
const PEOPLE = [ADA, ALAN, GRACE, EMIL]

describe('mentionQueryAt', () => {
  it('finds the @query being typed at the caret', () => {
    expect(mentionQueryAt('Hi @Ad', 6)).toEqual({ start: 3, query: 'Ad' })
    expect(mentionQueryAt('@', 1)).toEqual({ start: 0, query: '' })
    expect(mentionQueryAt('(@gr', 4)).toEqual({ start: 1, query: 'gr' })
    // Names have spaces: the query goes on past them.
    expect(mentionQueryAt('cc @Ada Lo', 10)).toEqual({ start: 3, query: 'Ada Lo' })
  })

  it('ignores e-mail addresses, a space right after @, line breaks, and text after the caret', () => {
    expect(mentionQueryAt('mail ada@example.org', 20)).toBeNull()
    expect(mentionQueryAt('@ ada', 5)).toBeNull()
    expect(mentionQueryAt('@ada\nnext', 9)).toBeNull()
    expect(mentionQueryAt('no mention @x', 5)).toBeNull()
    expect(mentionQueryAt(`@${'a'.repeat(41)}`, 42)).toBeNull()
  })
})

describe('filterPeople', () => {
  it('ranks name prefixes, then word prefixes, then substrings', () => {
    expect(filterPeople(PEOPLE, 'a').map((p) => p.id)).toEqual(['u_ada', 'u_alan', 'u_grace'])
    expect(filterPeople(PEOPLE, 'tur')).toEqual([ALAN])
    expect(filterPeople(PEOPLE, 'vel')).toEqual([ADA])
  })

  it('ignores case and accents, lists everyone for an empty query, and stops at the limit', () => {
    expect(filterPeople(PEOPLE, 'emile')).toEqual([EMIL])
    expect(filterPeople(PEOPLE, '')).toHaveLength(4)
    expect(filterPeople(PEOPLE, '', 2)).toHaveLength(2)
    expect(filterPeople(PEOPLE, 'zzz')).toEqual([])
  })
})

describe('insertMention', () => {
  it('replaces the query with @Name and a space, caret after it', () => {
    const text = 'Hi @ad, look'
    expect(insertMention(text, 6, { start: 3, query: 'ad' }, ADA)).toEqual({ text: 'Hi @Ada Lovelace , look', caret: 17 })
    expect(insertMention('@gr', 3, { start: 0, query: 'gr' }, GRACE)).toEqual({ text: '@Grace Hopper ', caret: 14 })
    expect(insertMention('@gr more', 3, { start: 0, query: 'gr' }, GRACE).text).toBe('@Grace Hopper more')
  })
})

describe('mentionsIn', () => {
  it('keeps picked people whose @Name is still in the text, in order of appearance', () => {
    expect(mentionsIn('@Grace Hopper and @Ada Lovelace?', [ADA, GRACE])).toEqual(['u_grace', 'u_ada'])
    expect(mentionsIn('@Grace Hopper only', [ADA, GRACE])).toEqual(['u_grace'])
    expect(mentionsIn('@Ada Lovelace @Ada Lovelace', [ADA])).toEqual(['u_ada'])
  })

  it('finds names typed out by hand, unless two people share the name', () => {
    expect(mentionsIn('thanks @Alan Turing!', [], PEOPLE)).toEqual(['u_alan'])
    const twin = { id: 'u_ada2', name: 'Ada Lovelace' }
    expect(mentionsIn('@Ada Lovelace', [], [ADA, twin])).toEqual([])
    // The one picked from the list is the one meant.
    expect(mentionsIn('@Ada Lovelace', [twin], [ADA, twin])).toEqual(['u_ada2'])
  })

  it('needs whole names', () => {
    expect(mentionsIn('@Ada Lovelaces', [ADA])).toEqual([])
    expect(mentionsIn('x@Ada Lovelace', [ADA])).toEqual([])
  })
})

describe('mentionSegments', () => {
  it('splits text into plain parts and mentions, longest names first', () => {
    const ada = { id: 'u_ada', name: 'Ada' }
    expect(mentionSegments('Hi @Ada Lovelace and @Ada, see @Bob', [ada, ADA])).toEqual([
      { text: 'Hi ' },
      { text: '@Ada Lovelace', mention: 'u_ada' },
      { text: ' and ' },
      { text: '@Ada', mention: 'u_ada' },
      { text: ', see @Bob' },
    ])
    expect(mentionSegments('no mentions', [ADA])).toEqual([{ text: 'no mentions' }])
    expect(mentionSegments('', [ADA])).toEqual([])
  })
})

describe('mentionPeople', () => {
  it('offers members and everyone met, named from the best source, never yourself', () => {
    const people = mentionPeople({
      members: ['u_ada', 'u_me', 'u_nameless'],
      names: [new Map([['u_ada', 'Ada Lovelace']]), new Map([['u_ada', 'Ada (old)'], ['u_grace', 'Grace Hopper'], ['u_admin_only', 'Someone Else']])],
      seen: ['u_grace', 'u_me', 'u_unnamed_visitor'],
      self: 'u_me',
    })
    // A member without a name is offered under their id; a non-member without one is not;
    // an administrator's list of everyone names people but adds none.
    expect(people).toEqual([
      { id: 'u_ada', name: 'Ada Lovelace' },
      { id: 'u_grace', name: 'Grace Hopper' },
      { id: 'u_nameless', name: 'u_nameless' },
    ])
  })

  it('works from what the page knows when the members cannot be listed', () => {
    expect(mentionPeople({ members: null, names: [new Map([['u_ada', 'Ada']])], seen: ['u_ada'], self: 'u_me' })).toEqual([{ id: 'u_ada', name: 'Ada' }])
  })
})

describe('mentions in the comments document', () => {
  let n = 0
  const clock: Clock = { now: () => new Date(Date.UTC(2024, 0, 1, 0, 0, n)), newId: () => `id${++n}` }

  it('are stored with new threads, replies and edits', () => {
    const doc = new Y.Doc()
    const thread = createThread(doc, { anchor: { kind: 'report' }, author: 'u_me', text: '@Ada Lovelace?', mentions: ['u_ada'] }, clock)
    reply(doc, thread, 'u_me', '@Grace Hopper too', clock, ['u_grace'])
    let [read] = listThreads(doc)
    expect(read.comments.map((c) => c.mentions)).toEqual([['u_ada'], ['u_grace']])
    editComment(doc, thread, read.comments[1].id, 'u_me', 'never mind', clock, [])
    editComment(doc, thread, read.comments[0].id, 'u_me', '@Ada Lovelace!', clock)
    ;[read] = listThreads(doc)
    expect(read.comments.map((c) => [c.text, c.mentions])).toEqual([
      ['@Ada Lovelace!', ['u_ada']],
      ['never mind', []],
    ])
  })
})
