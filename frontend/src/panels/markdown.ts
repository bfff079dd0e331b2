/**
 * The text of a markdown panel as HTML: a small subset of Markdown (headings,
 * paragraphs, lists, code, quotes, rules, bold, italic, inline code, links).
 * Every piece of the source is escaped; the only markup in the output is what
 * this module writes, and links keep only http(s) and mailto addresses. So
 * what anyone types into a panel can never become script or markup.
 */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c])
}

/** The link target if it is a web or mail address, else null (no `javascript:`, `data:`, ...). */
export function safeHref(href: string): string | null {
  const url = href.trim()
  return /^(https?:\/\/|mailto:)[^\s]+$/i.test(url) ? url : null
}

// Underscores only emphasise at word edges: snake_case names stay as they are.
const INLINE =
  /(`+)([\s\S]*?[^`])\1(?!`)|\*\*([\s\S]+?)\*\*|(?<![\w])__([\s\S]+?)__(?![\w])|\*([^*\s][^*]*?)\*|(?<![\w])_([^_\s][^_]*?)_(?![\w])|\[([^\]]+)\]\(([^)\s]+)\)/g

/** Inline Markdown of one block as HTML. */
export function inlineHtml(text: string): string {
  let out = ''
  let last = 0
  for (const match of text.matchAll(INLINE)) {
    const at = match.index ?? 0
    out += escapeHtml(text.slice(last, at))
    last = at + match[0].length
    const [, ticks, code, strong1, strong2, em1, em2, label, href] = match
    if (ticks) out += `<code>${escapeHtml(code.trim())}</code>`
    else if (strong1 ?? strong2) out += `<strong>${inlineHtml(strong1 ?? strong2)}</strong>`
    else if (em1 ?? em2) out += `<em>${inlineHtml(em1 ?? em2)}</em>`
    else {
      const safe = safeHref(href)
      out += safe ? `<a href="${escapeHtml(safe)}" target="_blank" rel="noopener noreferrer nofollow">${inlineHtml(label)}</a>` : escapeHtml(match[0])
    }
  }
  return out + escapeHtml(text.slice(last))
}

const LIST_ITEM = /^\s{0,3}([-*+]|\d{1,9}[.)])\s+(.*)$/

/** Markdown source as HTML (see the module comment for what is understood). */
export function markdownToHtml(source: string): string {
  const lines = source.replace(/\r\n?/g, '\n').split('\n')
  const out: string[] = []
  let i = 0
  while (i < lines.length) {
    const line = lines[i]
    if (line.trim() === '') {
      i++
      continue
    }
    const fence = /^\s{0,3}(```|~~~)/.exec(line)
    if (fence) {
      const code: string[] = []
      i++
      while (i < lines.length && !lines[i].trimStart().startsWith(fence[1])) code.push(lines[i++])
      i++
      out.push(`<pre><code>${escapeHtml(code.join('\n'))}</code></pre>`)
      continue
    }
    const heading = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line)
    if (heading) {
      // Panels are small: three sizes are plenty.
      const level = Math.min(heading[1].length, 3) + 2
      out.push(`<h${level}>${inlineHtml(heading[2])}</h${level}>`)
      i++
      continue
    }
    if (/^\s{0,3}([-*_])(\s*\1){2,}\s*$/.test(line)) {
      out.push('<hr>')
      i++
      continue
    }
    if (/^\s{0,3}>/.test(line)) {
      const quoted: string[] = []
      while (i < lines.length && /^\s{0,3}>/.test(lines[i])) quoted.push(lines[i++].replace(/^\s{0,3}>\s?/, ''))
      out.push(`<blockquote>${markdownToHtml(quoted.join('\n'))}</blockquote>`)
      continue
    }
    const item = LIST_ITEM.exec(line)
    if (item) {
      const ordered = /\d/.test(item[1])
      const items: string[] = []
      while (i < lines.length) {
        const next = LIST_ITEM.exec(lines[i])
        if (next && /\d/.test(next[1]) === ordered) items.push(next[2])
        else if (items.length && /^\s{2,}\S/.test(lines[i])) items[items.length - 1] += ` ${lines[i].trim()}`
        else break
        i++
      }
      const start = ordered ? Number.parseInt(item[1], 10) : 1
      const open = ordered ? (start !== 1 ? `<ol start="${start}">` : '<ol>') : '<ul>'
      out.push(`${open}${items.map((text) => `<li>${inlineHtml(text)}</li>`).join('')}${ordered ? '</ol>' : '</ul>'}`)
      continue
    }
    const paragraph: string[] = []
    while (i < lines.length && lines[i].trim() !== '' && !startsBlock(lines[i])) paragraph.push(lines[i++].trim())
    if (paragraph.length === 0) paragraph.push(lines[i++].trim())
    out.push(`<p>${paragraph.map(inlineHtml).join('<br>')}</p>`)
  }
  return out.join('')
}

function startsBlock(line: string): boolean {
  return /^\s{0,3}(```|~~~|#{1,6}\s|>)/.test(line) || LIST_ITEM.test(line)
}
