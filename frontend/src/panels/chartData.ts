/**
 * Chart data shaping, free of the DOM: per-run metric series (from the history
 * endpoint, then extended by live rows) into uPlot's aligned columns
 * `[xs, ys_1, ..., ys_n]`, with optional exponential smoothing.
 */

export interface Series {
  steps: number[]
  values: number[]
}

/** What `GET /api/runs/{id}/history` answers. */
export interface HistoryBody {
  run_id: string
  series: Record<string, { steps: number[]; values: number[] }>
}

/** One live row of the stream (`event: history`). */
export interface LiveRow {
  step: number
  metrics: Record<string, number>
}

/** Metric series of one run, by metric key; steps kept sorted and unique. */
export class RunSeries {
  readonly byMetric = new Map<string, Series>()

  static fromHistory(body: HistoryBody, keys: readonly string[]): RunSeries {
    const run = new RunSeries()
    for (const key of keys) {
      const series = body.series[key]
      if (series) run.byMetric.set(key, { steps: [...series.steps], values: [...series.values] })
    }
    return run
  }

  /** Add live rows; returns whether any of `keys` changed. */
  addRows(rows: readonly LiveRow[], keys: readonly string[]): boolean {
    let changed = false
    for (const row of rows) {
      for (const key of keys) {
        const value = row.metrics[key]
        if (typeof value !== 'number') continue
        let series = this.byMetric.get(key)
        if (!series) {
          series = { steps: [], values: [] }
          this.byMetric.set(key, series)
        }
        insertPoint(series, row.step, value)
        changed = true
      }
    }
    return changed
  }
}

/** Insert or replace the point at `step`, keeping steps sorted (appends are the common case). */
export function insertPoint(series: Series, step: number, value: number): void {
  const { steps, values } = series
  const last = steps.length - 1
  if (last < 0 || steps[last] < step) {
    steps.push(step)
    values.push(value)
    return
  }
  let lo = 0
  let hi = steps.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (steps[mid] < step) lo = mid + 1
    else hi = mid
  }
  if (steps[lo] === step) values[lo] = value
  else {
    steps.splice(lo, 0, step)
    values.splice(lo, 0, value)
  }
}

/**
 * A metric against another metric instead of the step: each step where both
 * were logged gives a point (x from `x`, y from `y`), sorted by x. The `steps`
 * of the result hold the x values.
 */
export function pairByStep(x: Series, y: Series): Series {
  const xAt = new Map<number, number>()
  x.steps.forEach((step, i) => xAt.set(step, x.values[i]))
  const pairs: [number, number][] = []
  y.steps.forEach((step, i) => {
    const xv = xAt.get(step)
    if (xv !== undefined && Number.isFinite(xv)) pairs.push([xv, y.values[i]])
  })
  pairs.sort((a, b) => a[0] - b[0])
  return { steps: pairs.map((p) => p[0]), values: pairs.map((p) => p[1]) }
}

/**
 * Exponential moving average with TensorBoard's debiasing (what W&B calls
 * "Exponential Moving Average"): `last = last * w + (1 - w) * value`, divided
 * by `1 - w^n` so the first points are not pulled towards zero. Gaps (null) are
 * skipped; `weight` 0 returns the values.
 */
export function smooth(values: readonly (number | null)[], weight: number): (number | null)[] {
  if (!(weight > 0)) return [...values]
  const w = Math.min(weight, 0.999)
  let last = 0
  let count = 0
  return values.map((value) => {
    if (value === null || !Number.isFinite(value)) return value
    last = last * w + (1 - w) * value
    count += 1
    return last / (1 - Math.pow(w, count))
  })
}

export interface Line {
  label: string
  series: Series
}

/**
 * uPlot's aligned data: the union of all steps as x, one column per line with
 * `null` where that line has no point (uPlot bridges them with `spanGaps`).
 */
export function alignLines(lines: readonly Line[], smoothing = 0, positiveOnly = false): [number[], ...(number | null)[][]] {
  const xs = [...new Set(lines.flatMap((line) => line.series.steps))].sort((a, b) => a - b)
  const index = new Map(xs.map((x, i) => [x, i]))
  const columns = lines.map((line) => {
    const column: (number | null)[] = new Array<number | null>(xs.length).fill(null)
    line.series.steps.forEach((step, i) => {
      const value = line.series.values[i]
      // A log scale has no place for zero or less.
      column[index.get(step)!] = positiveOnly && !(value > 0) ? null : value
    })
    return smooth(column, smoothing)
  })
  return [xs, ...columns]
}

/** The runs-list query string of a run set's filters (each one condition, all must hold). */
export function runsQuery(filters: readonly string[], limit = 50): string {
  const parts = filters.filter((f) => f.trim() !== '').map((f) => encodeURIComponent(f.trim()))
  parts.push(`limit=${limit}`)
  return parts.join('&')
}
