/**
 * What the slash menu offers and how typing after `/` narrows it down. Pure:
 * the commands that insert each block live in slashMenu.ts.
 */

export type SlashItemId =
  | 'heading1'
  | 'heading2'
  | 'heading3'
  | 'bulletList'
  | 'orderedList'
  | 'taskList'
  | 'codeBlock'
  | 'quote'
  | 'callout'
  | 'blockMath'
  | 'inlineMath'
  | 'image'
  | 'divider'
  | 'tableOfContents'
  | 'panelGrid'

export interface SlashItem {
  id: SlashItemId
  title: string
  description: string
  /** Other words people type for it (`h1`, `todo`, `latex`, ...). */
  keywords: readonly string[]
}

export const SLASH_ITEMS: readonly SlashItem[] = [
  { id: 'heading1', title: 'Heading 1', description: 'Large section heading', keywords: ['h1', 'title'] },
  { id: 'heading2', title: 'Heading 2', description: 'Medium section heading', keywords: ['h2', 'subtitle'] },
  { id: 'heading3', title: 'Heading 3', description: 'Small section heading', keywords: ['h3'] },
  { id: 'bulletList', title: 'Bulleted list', description: 'A simple list', keywords: ['ul', 'unordered', 'bullet'] },
  { id: 'orderedList', title: 'Numbered list', description: 'A list with numbers', keywords: ['ol', 'ordered', 'numbers'] },
  { id: 'taskList', title: 'Checklist', description: 'Tasks to tick off', keywords: ['todo', 'task', 'check', 'checkbox'] },
  { id: 'codeBlock', title: 'Code block', description: 'Code with syntax highlighting', keywords: ['code', 'pre', 'snippet', 'program'] },
  { id: 'quote', title: 'Quote', description: 'A quotation', keywords: ['blockquote', 'citation'] },
  { id: 'callout', title: 'Callout', description: 'A note, tip or warning that stands out', keywords: ['note', 'tip', 'important', 'warning', 'caution', 'info', 'alert', 'admonition'] },
  { id: 'blockMath', title: 'Math block', description: 'A displayed formula (LaTeX)', keywords: ['latex', 'formula', 'equation', 'katex', 'tex'] },
  { id: 'inlineMath', title: 'Inline math', description: 'A formula within the text (LaTeX)', keywords: ['latex', 'formula', 'equation', 'katex', 'tex'] },
  { id: 'image', title: 'Image', description: 'An image from an address, with a caption', keywords: ['picture', 'photo', 'img', 'figure'] },
  { id: 'divider', title: 'Divider', description: 'A horizontal line between sections', keywords: ['hr', 'rule', 'separator', 'line'] },
  { id: 'tableOfContents', title: 'Table of contents', description: 'Links to the headings, kept up to date', keywords: ['toc', 'contents', 'outline'] },
  { id: 'panelGrid', title: 'Panel grid', description: 'Charts of runs from a project', keywords: ['chart', 'plot', 'graph', 'runs', 'panels', 'metrics'] },
]

/**
 * The items matching `query`, best first: the title starts with it, then a
 * word of the title does, then a keyword does, then any of them contains it.
 * Items of equal rank keep their menu order. An empty query matches all.
 */
export function filterSlashItems<T extends SlashItem>(items: readonly T[], query: string): T[] {
  const q = query.trim().toLowerCase()
  if (!q) return [...items]
  const ranked: Array<{ item: T; rank: number; index: number }> = []
  items.forEach((item, index) => {
    const rank = rankOf(item, q)
    if (rank !== null) ranked.push({ item, rank, index })
  })
  ranked.sort((a, b) => a.rank - b.rank || a.index - b.index)
  return ranked.map((entry) => entry.item)
}

function rankOf(item: SlashItem, q: string): number | null {
  const title = item.title.toLowerCase()
  const compactTitle = title.replace(/\s+/g, '')
  const words = title.split(/\s+/)
  const keywords = item.keywords.map((k) => k.toLowerCase())
  if (title.startsWith(q) || compactTitle.startsWith(q)) return 0
  if (words.some((w) => w.startsWith(q))) return 1
  if (keywords.some((k) => k.startsWith(q))) return 2
  if (title.includes(q) || compactTitle.includes(q) || keywords.some((k) => k.includes(q))) return 3
  return null
}

/** The option index after moving by `delta` from `current` in a list of `count`, wrapping around. */
export function moveActive(current: number, delta: number, count: number): number {
  if (count <= 0) return 0
  return (((current + delta) % count) + count) % count
}
