/**
 * @mentions in comment text, without the DOM: finding the `@query` being typed, ranking
 * the people it may mean, inserting the chosen name, working out whom a finished text
 * mentions, and splitting a comment into plain and mentioned parts for display.
 *
 * A comment stores its text as written (`"@Ada Lovelace, which seed?"`) and the mentioned
 * user ids in `mentions` (docs/document-schema.md, "Comments document").
 */

export interface MentionPerson {
  id: string
  name: string
}

/** The `@query` before the caret: where its `@` is and what follows it. */
export interface MentionQuery {
  start: number
  query: string
}

/** Names are matched up to this many characters after the `@`. */
const MAX_QUERY = 40

/**
 * The mention being typed at `caret`, if any: an `@` at the start or after a space or
 * opening bracket, followed by up to 40 characters without a line break or another `@`.
 */
export function mentionQueryAt(text: string, caret: number): MentionQuery | null {
  const before = text.slice(0, caret)
  const at = before.lastIndexOf('@')
  if (at < 0) return null
  if (at > 0 && !/[\s([{"'“]/.test(before[at - 1])) return null
  const query = before.slice(at + 1)
  if (query.length > MAX_QUERY || /[\n@]/.test(query) || /^\s/.test(query)) return null
  return { start: at, query }
}

/**
 * People matching `query`, best first: whole name starting with it, then a word of the
 * name starting with it, then the name containing it (case- and accent-insensitive);
 * ties by name. An empty query lists everyone.
 */
export function filterPeople(people: readonly MentionPerson[], query: string, limit = 8): MentionPerson[] {
  const wanted = fold(query.trim())
  const ranked: Array<[number, MentionPerson]> = []
  for (const person of people) {
    const name = fold(person.name)
    let rank: number
    if (name.startsWith(wanted)) rank = 0
    else if (name.split(/\s+/).some((word) => word.startsWith(wanted))) rank = 1
    else if (name.includes(wanted) || fold(person.id) === wanted) rank = 2
    else continue
    ranked.push([rank, person])
  }
  ranked.sort((a, b) => a[0] - b[0] || a[1].name.localeCompare(b[1].name) || a[1].id.localeCompare(b[1].id))
  return ranked.slice(0, limit).map(([, person]) => person)
}

/** `text` with the `@query` at `mention` replaced by `@Name ` and the caret after it. */
export function insertMention(text: string, caret: number, mention: MentionQuery, person: MentionPerson): { text: string; caret: number } {
  const inserted = `@${person.name} `
  const after = text.slice(caret).replace(/^ /, '')
  return { text: text.slice(0, mention.start) + inserted + after, caret: mention.start + inserted.length }
}

/**
 * The ids of the people `text` mentions: `picked` people (chosen from the list) whose
 * `@Name` is still there, then anyone else in `people` written out by hand whose name
 * no other person shares. In order of first appearance, each once.
 */
export function mentionsIn(text: string, picked: readonly MentionPerson[], people: readonly MentionPerson[] = []): string[] {
  const nameCount = new Map<string, number>()
  for (const person of dedupe([...picked, ...people])) nameCount.set(person.name, (nameCount.get(person.name) ?? 0) + 1)
  const pickedNames = new Set(picked.map((p) => p.name))
  const candidates = [...picked, ...people.filter((p) => !pickedNames.has(p.name) && nameCount.get(p.name) === 1)]
  const found: Array<[number, string]> = []
  const seen = new Set<string>()
  for (const person of candidates) {
    if (seen.has(person.id)) continue
    const at = findMention(text, person.name, 0)
    if (at < 0) continue
    seen.add(person.id)
    found.push([at, person.id])
  }
  return found.sort((a, b) => a[0] - b[0]).map(([, id]) => id)
}

export type MentionSegment = { text: string } | { text: string; mention: string }

/**
 * `text` split into plain parts and `@Name` parts of the mentioned people (longest
 * names first, so "@Ada Lovelace" is not cut at "@Ada").
 */
export function mentionSegments(text: string, mentioned: readonly MentionPerson[]): MentionSegment[] {
  const people = [...mentioned].filter((p) => p.name !== '').sort((a, b) => b.name.length - a.name.length)
  const segments: MentionSegment[] = []
  let plainFrom = 0
  let index = 0
  while (index < text.length) {
    const at = text.indexOf('@', index)
    if (at < 0) break
    const person = people.find((p) => findMention(text, p.name, at) === at)
    if (!person) {
      index = at + 1
      continue
    }
    if (at > plainFrom) segments.push({ text: text.slice(plainFrom, at) })
    const end = at + 1 + person.name.length
    segments.push({ text: text.slice(at, end), mention: person.id })
    plainFrom = index = end
  }
  if (plainFrom < text.length) segments.push({ text: text.slice(plainFrom) })
  return segments
}

/** Where `@name` occurs in `text` from `from` on as a whole mention, or -1. */
function findMention(text: string, name: string, from: number): number {
  if (name === '') return -1
  const token = `@${name}`
  for (let at = text.indexOf(token, from); at >= 0; at = text.indexOf(token, at + 1)) {
    const before = at === 0 ? ' ' : text[at - 1]
    const after = text[at + token.length] ?? ' '
    // "@Ada" in "@Adam" or "x@Ada.org" is not a mention of Ada.
    if (!/[\p{L}\p{N}_]/u.test(before) && !/[\p{L}\p{N}_]/u.test(after)) return at
  }
  return -1
}

function dedupe(people: readonly MentionPerson[]): MentionPerson[] {
  const byId = new Map<string, MentionPerson>()
  for (const person of people) if (!byId.has(person.id)) byId.set(person.id, person)
  return [...byId.values()]
}

function fold(text: string): string {
  return text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase()
}
