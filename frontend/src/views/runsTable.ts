/**
 * Shaping runs for the runs pages, without the DOM: the filter box's text as a run list
 * query, which summary metrics make the table's columns, config and summary flattened to
 * rows, and values as short text.
 */

import type { ProjectInfo, RunInfo } from './runsApi'

/** The filter box's text as the run list's query string (src/coreport/runs/filters.py). */
export interface RunFilter {
  /** The conditions as typed, one each: `state=running`, `summary.loss<0.5`. */
  parts: string[]
  /** `parts` joined for `GET /api/projects/{p}/runs?…`, each part URL-encoded. */
  query: string
}

/**
 * Conditions separated by spaces or `&`, as in `state=running tag=baseline
 * summary.loss<0.5 sort=-summary.loss`; double quotes keep spaces inside a value
 * (`config.note="two words"`). Conditions are passed on as typed: the server checks them
 * and says what is wrong with any.
 */
export function parseRunFilter(text: string): RunFilter {
  const parts: string[] = []
  let current = ''
  let quoted = false
  for (const char of text) {
    if (char === '"') quoted = !quoted
    if (!quoted && (char === '&' || /\s/.test(char))) {
      if (current) parts.push(current)
      current = ''
      continue
    }
    current += char
  }
  if (current) parts.push(current)
  return { parts, query: parts.map(encodeURIComponent).join('&') }
}

/**
 * The summary metrics worth a column: numeric values, most widely logged first (then by
 * name), at most `max`. Keys starting with `_` are bookkeeping and left out.
 */
export function summaryColumns(runs: readonly RunInfo[], max = 4): string[] {
  const counts = new Map<string, number>()
  for (const run of runs) {
    for (const [key, value] of flattenObject(run.summary)) {
      if (key.startsWith('_') || typeof value !== 'number') continue
      counts.set(key, (counts.get(key) ?? 0) + 1)
    }
  }
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, max)
    .map(([key]) => key)
}

/** Nested objects as dotted keys (`optimizer.lr`), in key order; arrays stay values. */
export function flattenObject(value: Record<string, unknown>, prefix = ''): Array<[string, unknown]> {
  const rows: Array<[string, unknown]> = []
  for (const key of Object.keys(value).sort((a, b) => a.localeCompare(b))) {
    const item = value[key]
    const path = prefix ? `${prefix}.${key}` : key
    if (item !== null && typeof item === 'object' && !Array.isArray(item) && Object.keys(item).length > 0) {
      rows.push(...flattenObject(item as Record<string, unknown>, path))
    } else {
      rows.push([path, item])
    }
  }
  return rows
}

/** The value at a dotted path of a nested object, or undefined. */
export function valueAt(value: Record<string, unknown>, path: string): unknown {
  if (Object.prototype.hasOwnProperty.call(value, path)) return value[path]
  let current: unknown = value
  for (const key of path.split('.')) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined
    current = (current as Record<string, unknown>)[key]
  }
  return current
}

/** A value as short text: numbers to 5 significant digits, everything else as JSON. */
export function formatValue(value: unknown): string {
  if (value === undefined) return ''
  if (typeof value === 'number') return formatNumber(value)
  if (typeof value === 'string') return value
  return JSON.stringify(value)
}

export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value)
  if (Number.isInteger(value) && Math.abs(value) < 1e15) return String(value)
  const magnitude = Math.abs(value)
  if (magnitude !== 0 && (magnitude < 1e-4 || magnitude >= 1e9)) return value.toExponential(3)
  return String(Number(value.toPrecision(5)))
}

/** Projects with the most recent activity first (then by name). */
export function sortProjects(projects: readonly ProjectInfo[]): ProjectInfo[] {
  return [...projects].sort((a, b) => Date.parse(b.last_activity) - Date.parse(a.last_activity) || a.name.localeCompare(b.name))
}

/** Where a repository and commit can be browsed: GitHub/GitLab-style web links only. */
export function commitUrl(repository: string | null, commit: string | null): string | null {
  if (!repository) return null
  const https = repository.replace(/^git@([^:]+):/, 'https://$1/').replace(/\.git$/, '')
  if (!/^https:\/\/[^/\s]+\/[^\s]+$/.test(https)) return null
  return commit ? `${https}/commit/${commit}` : https
}
