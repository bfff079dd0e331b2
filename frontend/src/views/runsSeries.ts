/**
 * A run's metric history for its charts, without the DOM: one sorted series per metric
 * from `GET /api/runs/{id}/history`, and the live stream's rows merged in as they come.
 */

import type { HistoryInfo, LiveRow } from './runsApi'

export interface MetricSeries {
  steps: number[]
  values: number[]
}

export type RunSeries = Map<string, MetricSeries>

/** The history's series by metric, in metric name order (`_`-prefixed ones last). */
export function seriesFromHistory(history: HistoryInfo): RunSeries {
  const out: RunSeries = new Map()
  for (const key of metricOrder(Object.keys(history.series))) {
    const series = history.series[key]
    out.set(key, { steps: [...series.steps], values: [...series.values] })
  }
  return out
}

/**
 * Merge live rows into `series` (changed in place): a step already there takes the new
 * value, a new step is inserted in order. Returns the metrics that changed.
 */
export function mergeLiveRows(series: RunSeries, rows: readonly LiveRow[]): Set<string> {
  const changed = new Set<string>()
  for (const row of rows) {
    for (const [key, value] of Object.entries(row.metrics)) {
      if (typeof value !== 'number' || !Number.isFinite(value)) continue
      let target = series.get(key)
      if (!target) {
        target = { steps: [], values: [] }
        series.set(key, target)
      }
      insertPoint(target, row.step, value)
      changed.add(key)
    }
  }
  return changed
}

function insertPoint(series: MetricSeries, step: number, value: number): void {
  const { steps, values } = series
  // Rows nearly always come in order: look from the end.
  let at = steps.length
  while (at > 0 && steps[at - 1] > step) at--
  if (at > 0 && steps[at - 1] === step) {
    values[at - 1] = value
    return
  }
  steps.splice(at, 0, step)
  values.splice(at, 0, value)
}

/** Metric names sorted for display: by name, with `_`-prefixed (system) ones last. */
export function metricOrder(keys: readonly string[]): string[] {
  return [...keys].sort((a, b) => Number(a.startsWith('_')) - Number(b.startsWith('_')) || a.localeCompare(b))
}
