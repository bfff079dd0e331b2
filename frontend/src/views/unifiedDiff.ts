/**
 * A unified diff (the versions `diff` route's `text/x-diff`) shaped for reading:
 * hunks of numbered lines, each added, removed or unchanged. Pure.
 */

export type DiffLineKind = 'add' | 'del' | 'context' | 'note'

export interface DiffLine {
  kind: DiffLineKind
  /** The line without its one-character prefix. */
  text: string
  /** Line number in the older text (`null` for added lines and notes). */
  oldNumber: number | null
  /** Line number in the newer text (`null` for removed lines and notes). */
  newNumber: number | null
}

export interface DiffHunk {
  /** The `@@ -a,b +c,d @@` line as sent. */
  header: string
  oldStart: number
  newStart: number
  lines: DiffLine[]
}

export interface ParsedDiff {
  /** Names from the `---` / `+++` lines ("version 1", "current"), when present. */
  from: string | null
  to: string | null
  hunks: DiffHunk[]
  added: number
  removed: number
}

const HUNK = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/

export function parseUnifiedDiff(text: string): ParsedDiff {
  const result: ParsedDiff = { from: null, to: null, hunks: [], added: 0, removed: 0 }
  const lines = text.split('\n')
  if (lines.at(-1) === '') lines.pop()
  let hunk: DiffHunk | null = null
  // Lines still expected in the current hunk: a "--- x" inside one is a removed "-- x".
  let oldLeft = 0
  let newLeft = 0
  let oldNumber = 0
  let newNumber = 0
  for (const raw of lines) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
    const inHunk = hunk !== null && (oldLeft > 0 || newLeft > 0)
    if (!inHunk) {
      const match = HUNK.exec(line)
      if (match) {
        oldNumber = Number(match[1])
        newNumber = Number(match[3])
        oldLeft = match[2] === undefined ? 1 : Number(match[2])
        newLeft = match[4] === undefined ? 1 : Number(match[4])
        hunk = { header: line, oldStart: oldNumber, newStart: newNumber, lines: [] }
        result.hunks.push(hunk)
        continue
      }
      if (line.startsWith('--- ')) {
        result.from = headerName(line)
        continue
      }
      if (line.startsWith('+++ ')) {
        result.to = headerName(line)
        continue
      }
      // "\ No newline at end of file" follows the hunk's last line.
      if (hunk && line.startsWith('\\')) hunk.lines.push({ kind: 'note', text: line.slice(1).trim(), oldNumber: null, newNumber: null })
      continue
    }
    const current = hunk as DiffHunk
    const prefix = line.charAt(0)
    const body = line.slice(1)
    if (prefix === '+') {
      current.lines.push({ kind: 'add', text: body, oldNumber: null, newNumber: newNumber++ })
      newLeft--
      result.added++
    } else if (prefix === '-') {
      current.lines.push({ kind: 'del', text: body, oldNumber: oldNumber++, newNumber: null })
      oldLeft--
      result.removed++
    } else if (prefix === '\\') {
      current.lines.push({ kind: 'note', text: body.trim(), oldNumber: null, newNumber: null })
    } else {
      // ' ' prefix; some tools strip the space of an empty unchanged line.
      current.lines.push({ kind: 'context', text: prefix === ' ' ? body : line, oldNumber: oldNumber++, newNumber: newNumber++ })
      oldLeft--
      newLeft--
    }
  }
  return result
}

function headerName(line: string): string {
  // "--- version 1\t2026-11-26 ..." : drop a tab-separated timestamp.
  return line.slice(4).split('\t')[0].trim()
}

/** "2 lines added, 1 removed", or "No changes". */
export function diffSummary(diff: ParsedDiff): string {
  if (diff.added === 0 && diff.removed === 0) return 'No changes'
  const lines = (n: number) => `${n} ${n === 1 ? 'line' : 'lines'}`
  const parts: string[] = []
  if (diff.added) parts.push(`${lines(diff.added)} added`)
  if (diff.removed) parts.push(`${parts.length ? diff.removed : lines(diff.removed)} removed`)
  return parts.join(', ')
}
