/**
 * Markdown text to the editor's nodes (ProseMirror JSON in the schema of
 * docs/document-schema.md), for pasting. A small subset, the one people paste
 * from notes, READMEs and chat:
 *
 * * ATX headings (`#` to `###`; deeper ones become level 3), paragraphs whose
 *   lines are kept as line breaks, `---` rules;
 * * bulleted, numbered (with their start) and task lists (`- [ ]`, `- [x]`),
 *   nested by indentation;
 * * fenced code (``` or ~~~, with the language), `$$` display math;
 * * quotes, and GitHub's alerts (`> [!NOTE]` ... `> [!CAUTION]`) as callouts;
 * * an image alone on its line (`![alt](src "caption")`);
 * * inline: bold, italic, strike, code, `$math$`, links and `<https://...>`.
 *
 * The source is never HTML: tags are text like any other. Links and images keep
 * only addresses links.ts allows (the others stay as their Markdown text).
 */

import type { JSONContent } from '@tiptap/core'

import { isSafeHref, safeImageSrc } from './links'

type Mark = NonNullable<JSONContent['marks']>[number]

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)/
const HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/
const RULE = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/
const QUOTE = /^ {0,3}> ?(.*)$/
const LIST_ITEM = /^( *)([-*+]|\d{1,9}[.)])(?:[ \t]+(.*))?$/
const TASK = /^\[([ xX])\](?:[ \t]+(.*))?$/
const IMAGE = /^ {0,3}!\[([^\]]*)\]\(\s*<?([^\s)>]+)>?(?:\s+"([^"]*)")?\s*\)\s*$/
const ALERT = /^\[!(NOTE|TIP|IMPORTANT|WARNING|CAUTION)\]\s*$/i
const MATH_FENCE = /^ {0,3}\$\$/

/** Signs of Markdown in pasted text: any block syntax, or unmistakable inline syntax. */
const BLOCK_SIGNS = [HEADING, FENCE, QUOTE, MATH_FENCE, IMAGE, /^ {0,3}([-*+]|\d{1,9}[.)])[ \t]+\S/]
const INLINE_SIGNS = [/\*\*\S[^*]*\*\*/, /`[^`\n]+`/, /\[[^\]\n]+\]\((https?:|mailto:)[^)\s]+\)/, /~~\S[^~]*~~/]

/**
 * Whether `text` reads as Markdown rather than plain prose: a line with block
 * syntax (a heading, list, quote, fence, `$$`), or inline bold, code, strike or
 * a link. A single word or sentence without any of that is left to the
 * editor's plain-text paste.
 */
export function looksLikeMarkdown(text: string): boolean {
  const lines = text.replace(/\r\n?/g, '\n').split('\n')
  if (lines.some((line) => BLOCK_SIGNS.some((sign) => sign.test(line)) || RULE.test(line))) {
    // One line starting "1. " or "- " alone is as likely to be plain text; two lines or more are structure.
    const nonEmpty = lines.filter((line) => line.trim() !== '')
    const onlyListLine = nonEmpty.length === 1 && LIST_ITEM.test(nonEmpty[0]) && !TASK.test(LIST_ITEM.exec(nonEmpty[0])?.[3] ?? '')
    if (!onlyListLine) return true
  }
  return INLINE_SIGNS.some((sign) => sign.test(text))
}

/** The blocks `source` describes, as ProseMirror JSON nodes. */
export function markdownToContent(source: string): JSONContent[] {
  return parseBlocks(source.replace(/\r\n?/g, '\n').replace(/\t/g, '    ').split('\n'))
}

function parseBlocks(lines: string[]): JSONContent[] {
  const blocks: JSONContent[] = []
  let i = 0
  while (i < lines.length) {
    const line = lines[i]
    if (line.trim() === '') {
      i++
      continue
    }
    const fence = FENCE.exec(line)
    if (fence) {
      const [, marker, language] = fence
      const code: string[] = []
      i++
      while (i < lines.length && !isClosingFence(lines[i], marker)) code.push(lines[i++])
      i++
      blocks.push(codeBlock(code.join('\n'), language || null))
      continue
    }
    if (MATH_FENCE.test(line)) {
      i = parseMath(lines, i, blocks)
      continue
    }
    const heading = HEADING.exec(line)
    if (heading) {
      blocks.push(textblock('heading', inline(heading[2] ?? ''), { level: Math.min(heading[1].length, 3) }))
      i++
      continue
    }
    if (RULE.test(line)) {
      blocks.push({ type: 'horizontalRule' })
      i++
      continue
    }
    const image = IMAGE.exec(line)
    if (image && safeImageSrc(image[2])) {
      blocks.push({ type: 'image', attrs: { src: image[2], alt: image[1] || null, title: image[3] || null } })
      i++
      continue
    }
    if (QUOTE.test(line)) {
      const inner: string[] = []
      for (; i < lines.length && lines[i].trim() !== '' && QUOTE.test(lines[i]); i++) inner.push(QUOTE.exec(lines[i])![1])
      blocks.push(quote(inner))
      continue
    }
    if (LIST_ITEM.test(line)) {
      i = parseList(lines, i, blocks)
      continue
    }
    const paragraph: string[] = []
    while (i < lines.length && lines[i].trim() !== '' && (paragraph.length === 0 || !startsBlock(lines[i]))) paragraph.push(lines[i++].trim())
    blocks.push(textblock('paragraph', inline(paragraph.join('\n'))))
  }
  return blocks
}

function isClosingFence(line: string, marker: string): boolean {
  const trimmed = line.trim()
  return trimmed.length >= marker.length && trimmed === marker[0].repeat(trimmed.length)
}

/** Whether `line` ends a paragraph by starting another block. */
function startsBlock(line: string): boolean {
  return [FENCE, MATH_FENCE, HEADING, RULE, QUOTE, LIST_ITEM].some((rule) => rule.test(line))
}

/** `$$ x $$` on one line, or `$$` ... `$$` over several: one math block. Returns the next line's index. */
function parseMath(lines: string[], start: number, blocks: JSONContent[]): number {
  const first = lines[start].trim().slice(2)
  if (first.trimEnd().endsWith('$$')) {
    blocks.push(blockMath(first.trimEnd().slice(0, -2)))
    return start + 1
  }
  const body = [first]
  let i = start + 1
  while (i < lines.length && !lines[i].trimEnd().endsWith('$$')) body.push(lines[i++])
  if (i < lines.length) body.push(lines[i].trimEnd().slice(0, -2))
  blocks.push(blockMath(body.join('\n')))
  return i + 1
}

function blockMath(latex: string): JSONContent {
  return { type: 'blockMath', attrs: { latex: latex.trim() } }
}

function codeBlock(code: string, language: string | null): JSONContent {
  return { type: 'codeBlock', attrs: { language }, ...(code ? { content: [{ type: 'text', text: code }] } : {}) }
}

function textblock(type: string, content: JSONContent[], attrs?: Record<string, unknown>): JSONContent {
  return { type, ...(attrs ? { attrs } : {}), ...(content.length ? { content } : {}) }
}

function quote(inner: string[]): JSONContent {
  const alert = inner.length ? ALERT.exec(inner[0].trim()) : null
  if (alert) {
    // A callout holds one run of text: its lines become line breaks.
    const text = inner
      .slice(1)
      .map((line) => line.trim())
      .join('\n')
      .replace(/^\n+|\n+$/g, '')
    return textblock('callout', inline(text), { kind: alert[1].toLowerCase() })
  }
  const content = parseBlocks(inner)
  return { type: 'blockquote', content: content.length ? content : [{ type: 'paragraph' }] }
}

/** A run of list items of one kind starting at `start`; returns the index after it. */
function parseList(lines: string[], start: number, blocks: JSONContent[]): number {
  const first = LIST_ITEM.exec(lines[start])!
  const indent = first[1].length
  const marker = first[2]
  const ordered = /\d/.test(marker)
  const task = !ordered && TASK.test(first[3] ?? '')
  const sibling = (line: string | undefined) => {
    const match = line === undefined ? null : LIST_ITEM.exec(line)
    return match !== null && match[1].length === indent && match[2].slice(-1) === marker.slice(-1) && /\d/.test(match[2]) === ordered ? match : null
  }
  const items: JSONContent[] = []
  let i = start
  while (i < lines.length) {
    // Blank lines between items keep the list going.
    let next = i
    while (next < lines.length && lines[next].trim() === '') next++
    const match = sibling(lines[next])
    if (!match) break
    i = next + 1
    // The item's own text, then every following line indented past its marker (or blank between such lines).
    const contentIndent = indent + match[2].length + 1
    const body = [match[3] ?? '']
    for (; i < lines.length; i++) {
      const line = lines[i]
      if (line.trim() === '') {
        const following = lines.slice(i + 1).find((l) => l.trim() !== '')
        if (following === undefined || indentOf(following) < contentIndent) break
        body.push('')
      } else if (indentOf(line) >= contentIndent || (indentOf(line) > indent && LIST_ITEM.test(line))) {
        body.push(line.slice(Math.min(indentOf(line), contentIndent)))
      } else if (!startsBlock(line) && body[body.length - 1] !== '') {
        // A lazy continuation line of the item's paragraph.
        body.push(line.trim())
      } else break
    }
    items.push(listItem(body, task))
  }
  if (task) blocks.push({ type: 'taskList', content: items })
  else if (ordered) blocks.push({ type: 'orderedList', attrs: { start: Number.parseInt(marker, 10) }, content: items })
  else blocks.push({ type: 'bulletList', content: items })
  return i
}

function indentOf(line: string): number {
  return line.length - line.trimStart().length
}

function listItem(body: string[], task: boolean): JSONContent {
  let checked = false
  if (task) {
    const box = TASK.exec(body[0])
    if (box) {
      checked = box[1] !== ' '
      body = [box[2] ?? '', ...body.slice(1)]
    }
  }
  const content = parseBlocks(body)
  // An item starts with a paragraph (`paragraph block*`), even an empty one.
  if (content[0]?.type !== 'paragraph') content.unshift({ type: 'paragraph' })
  return task ? { type: 'taskItem', attrs: { checked }, content } : { type: 'listItem', content }
}

// -- inline -------------------------------------------------------------------

// Groups: 1 escaped char, 2-3 code, 4 math, 5-6 bold, 7 strike, 8-9 italic, 10 "!", 11 label, 12 href, 13 autolink.
// Underscores only emphasise at word edges (snake_case stays), `$5 and $6` is not math.
const INLINE =
  /\\([!-/:-@[-`{-~])|(`+)([^`]|[^`][\s\S]*?[^`])\2(?!`)|\$(?![\s$])((?:\\\$|[^$\n])*?[^\s\\])\$(?!\d)|\*\*(?=\S)([\s\S]*?\S)\*\*(?!\*)|(?<![\p{L}\p{N}_])__(?=\S)([\s\S]*?\S)__(?![\p{L}\p{N}_])|~~(?=\S)([\s\S]*?\S)~~|\*(?=[^*\s])([^*]*?[^*\s])\*|(?<![\p{L}\p{N}_])_(?=[^_\s])([^_]*?[^_\s])_(?![\p{L}\p{N}_])|(!?)\[([^\]\n]+)\]\(\s*<?([^\s)>]+)>?(?:\s+"[^"\n]*")?\s*\)|<((?:https?:\/\/|mailto:)[^>\s]+)>|\n/gu

/** Inline Markdown as text nodes (with marks), line breaks and math nodes. */
export function inline(text: string, marks: Mark[] = []): JSONContent[] {
  const out: JSONContent[] = []
  const pushText = (value: string, withMarks: Mark[] = marks) => {
    if (!value) return
    const last = out[out.length - 1]
    if (last?.type === 'text' && sameMarks(last.marks ?? [], withMarks)) last.text += value
    else out.push({ type: 'text', text: value, ...(withMarks.length ? { marks: withMarks } : {}) })
  }
  let last = 0
  for (const match of text.matchAll(INLINE)) {
    const at = match.index ?? 0
    pushText(text.slice(last, at))
    last = at + match[0].length
    const [whole, escaped, , code, math, bold1, bold2, strike, em1, em2, , label, href, autolink] = match
    if (escaped !== undefined) pushText(escaped)
    else if (code !== undefined) {
      // Code excludes every other mark (TipTap's `code` mark: `excludes: '_'`).
      pushText(code.length > 2 && code.startsWith(' ') && code.endsWith(' ') ? code.slice(1, -1) : code, [{ type: 'code' }])
    } else if (math !== undefined) out.push({ type: 'inlineMath', attrs: { latex: math.replace(/\\\$/g, '$') } })
    else if (bold1 !== undefined || bold2 !== undefined) out.push(...inline(bold1 ?? bold2, withMark(marks, 'bold')))
    else if (strike !== undefined) out.push(...inline(strike, withMark(marks, 'strike')))
    else if (em1 !== undefined || em2 !== undefined) out.push(...inline(em1 ?? em2, withMark(marks, 'italic')))
    else if (label !== undefined) {
      // An image inside a line of text becomes a link to it, labelled with its alt text.
      if (isSafeHref(href) && /^(https?:|mailto:)/i.test(href)) out.push(...inline(label, withMark(marks, 'link', { href })))
      else pushText(whole)
    } else if (autolink !== undefined) pushText(autolink, withMark(marks, 'link', { href: autolink }))
    else out.push({ type: 'hardBreak' })
  }
  pushText(text.slice(last))
  return mergeTexts(out)
}

function withMark(marks: Mark[], type: string, attrs?: Record<string, unknown>): Mark[] {
  return [...marks.filter((mark) => mark.type !== type), attrs ? { type, attrs } : { type }]
}

function sameMarks(a: Mark[], b: Mark[]): boolean {
  return a.length === b.length && a.every((mark, i) => mark.type === b[i].type && JSON.stringify(mark.attrs ?? null) === JSON.stringify(b[i].attrs ?? null))
}

/** Adjacent text nodes with the same marks as one (nested parses return their own runs). */
function mergeTexts(nodes: JSONContent[]): JSONContent[] {
  const merged: JSONContent[] = []
  for (const node of nodes) {
    const last = merged[merged.length - 1]
    if (node.type === 'text' && last?.type === 'text' && sameMarks(last.marks ?? [], node.marks ?? [])) last.text += node.text ?? ''
    else merged.push({ ...node })
  }
  return merged
}
