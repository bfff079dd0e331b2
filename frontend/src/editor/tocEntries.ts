/**
 * The table of contents of a document: its headings in order, each with an
 * anchor made the way the server's Markdown and HTML exports make theirs
 * (`coreport.reports.render.slug`, GitHub's rule), so a reader finds the same
 * `#results` in the editor and in an exported page.
 */

import type { Node as ProseMirrorNode } from '@tiptap/pm/model'

export interface TocEntry {
  level: number
  text: string
  /** Unique within the document: `results`, `results-1`, ... */
  anchor: string
  /** Where the heading node starts. */
  pos: number
}

/** A GitHub-style heading anchor: lower case, punctuation dropped, spaces to `-`. */
export function slug(text: string): string {
  return text
    .normalize('NFKC')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}_\- ]/gu, '')
    .replace(/ /g, '-')
}

/** Every heading of `doc` (at any depth), with unique anchors; repeats are numbered as GitHub does. */
export function collectHeadings(doc: ProseMirrorNode): TocEntry[] {
  const seen = new Map<string, number>()
  const entries: TocEntry[] = []
  doc.descendants((node, pos) => {
    // Other textblocks hold only inline content: skipping them keeps the walk off every text node.
    if (node.type.name !== 'heading') return !node.isTextblock
    const text = node.textContent
    const base = slug(text) || 'section'
    const count = seen.get(base) ?? 0
    seen.set(base, count + 1)
    const level = Number(node.attrs.level) || 1
    entries.push({ level, text, anchor: count ? `${base}-${count}` : base, pos })
    return false
  })
  return entries
}

/** Whether two lists of entries would render the same table (positions aside). */
export function sameEntries(a: readonly TocEntry[], b: readonly TocEntry[]): boolean {
  return a.length === b.length && a.every((entry, i) => entry.level === b[i].level && entry.text === b[i].text && entry.anchor === b[i].anchor)
}
