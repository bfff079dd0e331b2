/**
 * Group-by: runs that share a config value are drawn as one line (their mean
 * or median) with a band (min-max, or ± one standard deviation), free of the
 * DOM.
 */

export type Aggregate = 'mean' | 'median'
export type Band = 'min_max' | 'std' | 'none'

export const AGGREGATES: readonly Aggregate[] = ['mean', 'median']
export const BANDS: readonly Band[] = ['min_max', 'std', 'none']

export interface ConfigCarrier {
  config: Record<string, unknown>
}

/**
 * The value of `key` in a run's config: `config.lr` and `lr` both name
 * `config["lr"]`; a dotted name reaches into nested objects
 * (`config.optim.lr`) when no key holds the whole name.
 */
export function configValue(config: Record<string, unknown>, key: string): unknown {
  const name = key.startsWith('config.') ? key.slice('config.'.length) : key
  if (name in config) return config[name]
  let value: unknown = config
  for (const part of name.split('.')) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined
    value = (value as Record<string, unknown>)[part]
  }
  return value
}

/** Every config key the runs have, as `config.KEY` (nested objects flattened with dots), sorted. */
export function configKeys(runs: readonly ConfigCarrier[]): string[] {
  const keys = new Set<string>()
  const walk = (value: Record<string, unknown>, prefix: string, depth: number) => {
    for (const [key, inner] of Object.entries(value)) {
      if (inner !== null && typeof inner === 'object' && !Array.isArray(inner) && depth < 3) walk(inner as Record<string, unknown>, `${prefix}${key}.`, depth + 1)
      else keys.add(`config.${prefix}${key}`)
    }
  }
  for (const run of runs) walk(run.config, '', 0)
  return [...keys].sort()
}

/** A config value as a number (numbers and numeric strings), or null. */
export function numeric(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value)
    return Number.isFinite(n) ? n : null
  }
  return null
}

function valueLabel(value: unknown): string {
  if (value === undefined || value === null) return '(none)'
  return typeof value === 'string' ? value : JSON.stringify(value)
}

export interface RunGroup<T> {
  /** `lr=0.1` */
  label: string
  runs: T[]
}

/**
 * The runs grouped by the value of `key`; groups sorted by value (numbers in
 * numeric order, then text), runs without the key last.
 */
export function groupRuns<T extends ConfigCarrier>(runs: readonly T[], key: string): RunGroup<T>[] {
  const name = key.startsWith('config.') ? key.slice('config.'.length) : key
  const groups = new Map<string, RunGroup<T> & { value: unknown }>()
  for (const run of runs) {
    const value = configValue(run.config, key)
    const text = valueLabel(value)
    let group = groups.get(text)
    if (!group) {
      group = { label: `${name}=${text}`, runs: [], value }
      groups.set(text, group)
    }
    group.runs.push(run)
  }
  const rank = (v: unknown) => (v === undefined || v === null ? 2 : numeric(v) === null ? 1 : 0)
  return [...groups.entries()]
    .sort(([ta, a], [tb, b]) => rank(a.value) - rank(b.value) || (numeric(a.value) ?? 0) - (numeric(b.value) ?? 0) || ta.localeCompare(tb))
    .map(([, group]) => ({ label: group.label, runs: group.runs }))
}

/**
 * A column with its gaps inside the logged range filled by linear
 * interpolation over `xs`, so runs that logged at different steps still meet at
 * every x. Before its first and after its last point a run has no value.
 */
export function fillInterior(xs: readonly number[], column: readonly (number | null)[]): (number | null)[] {
  const out = [...column]
  let prev = -1
  for (let i = 0; i < out.length; i++) {
    const value = out[i]
    if (value === null || !Number.isFinite(value)) continue
    if (prev >= 0 && i - prev > 1) {
      const a = out[prev] as number
      const span = xs[i] - xs[prev]
      for (let j = prev + 1; j < i; j++) out[j] = span === 0 ? a : a + ((value - a) * (xs[j] - xs[prev])) / span
    }
    prev = i
  }
  return out
}

export function mean(values: readonly number[]): number {
  let sum = 0
  for (const v of values) sum += v
  return sum / values.length
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** Population standard deviation. */
export function std(values: readonly number[]): number {
  const m = mean(values)
  let sum = 0
  for (const v of values) sum += (v - m) * (v - m)
  return Math.sqrt(sum / values.length)
}

export interface Summary {
  center: number
  lo: number | null
  hi: number | null
}

/** One aggregate of `values` (non-empty) with its band. */
export function summarize(values: readonly number[], aggregate: Aggregate, band: Band): Summary {
  const center = aggregate === 'median' ? median(values) : mean(values)
  if (band === 'min_max') return { center, lo: Math.min(...values), hi: Math.max(...values) }
  if (band === 'std') {
    const spread = std(values)
    return { center, lo: center - spread, hi: center + spread }
  }
  return { center, lo: null, hi: null }
}

export interface AggregatedColumns {
  center: (number | null)[]
  lo: (number | null)[]
  hi: (number | null)[]
}

/**
 * Row-wise aggregate of aligned columns (one per run, gaps inside a run's range
 * interpolated): at each x, the runs that have a value there.
 */
export function aggregateColumns(
  xs: readonly number[],
  columns: readonly (readonly (number | null)[])[],
  aggregate: Aggregate,
  band: Band,
): AggregatedColumns {
  const filled = columns.map((column) => fillInterior(xs, column))
  const out: AggregatedColumns = { center: [], lo: [], hi: [] }
  for (let i = 0; i < xs.length; i++) {
    const values: number[] = []
    for (const column of filled) {
      const v = column[i]
      if (v !== null && Number.isFinite(v)) values.push(v)
    }
    if (values.length === 0) {
      out.center.push(null)
      out.lo.push(null)
      out.hi.push(null)
      continue
    }
    const s = summarize(values, aggregate, band)
    out.center.push(s.center)
    out.lo.push(s.lo)
    out.hi.push(s.hi)
  }
  return out
}
