/**
 * Bar, scalar and scatter panels reduce each run to a few numbers; this is
 * that reduction, free of the DOM.
 */

import { configValue, groupRuns, numeric, summarize, type Aggregate, type Band } from './aggregate'
import type { Series } from './chartData'

export interface ValueRun {
  id: string
  name: string
  config: Record<string, unknown>
  summary: Record<string, unknown>
}

export type SeriesOf = (runId: string, metric: string) => Series | undefined

/** A run's latest value of `metric`: its summary if that holds a number, else its last logged point. */
export function latestValue(run: ValueRun, metric: string, seriesOf: SeriesOf): number | null {
  const summary = run.summary[metric]
  if (typeof summary === 'number' && Number.isFinite(summary)) return summary
  const series = seriesOf(run.id, metric)
  if (!series) return null
  for (let i = series.values.length - 1; i >= 0; i--) {
    const value = series.values[i]
    if (Number.isFinite(value)) return value
  }
  return null
}

export interface Bar {
  /** A run id, or a group label. */
  key: string
  label: string
  value: number
  /** The band of a group's bar (null for a run, or `band: none`). */
  lo: number | null
  hi: number | null
  /** Runs behind the bar. */
  runs: number
  /** Position of the run (or group) in its list, for its colour. */
  index: number
}

export interface BarOptions {
  metric: string
  seriesOf: SeriesOf
  groupBy: string | null
  aggregate: Aggregate
  band: Band
}

/** One bar per run (its latest value), or per group (the aggregate of its runs' latest values). */
export function barData(runs: readonly ValueRun[], options: BarOptions): Bar[] {
  const { metric, seriesOf } = options
  if (!options.groupBy) {
    const bars: Bar[] = []
    runs.forEach((run, index) => {
      const value = latestValue(run, metric, seriesOf)
      if (value !== null) bars.push({ key: run.id, label: run.name, value, lo: null, hi: null, runs: 1, index })
    })
    return bars
  }
  const bars: Bar[] = []
  groupRuns(runs, options.groupBy).forEach((group, index) => {
    const values = group.runs.map((run) => latestValue(run, metric, seriesOf)).filter((v): v is number => v !== null)
    if (values.length === 0) return
    const s = summarize(values, options.aggregate, options.band)
    bars.push({ key: group.label, label: group.label, value: s.center, lo: s.lo, hi: s.hi, runs: values.length, index })
  })
  return bars
}

/**
 * Where a value sits along a bar's axis, 0..1: from zero (or the smallest
 * value, if any is negative) to the largest; on a log scale, by orders of
 * magnitude between the smallest and largest positive values.
 */
export function barScale(values: readonly number[], logScale: boolean): (value: number) => number {
  const finite = values.filter((v) => Number.isFinite(v))
  if (logScale) {
    const positive = finite.filter((v) => v > 0)
    if (positive.length === 0) return () => 0
    const lo = Math.log10(Math.min(...positive))
    const hi = Math.log10(Math.max(...positive))
    // A decade of room below the smallest bar, so it still shows.
    const from = lo - Math.max(1, (hi - lo) * 0.1)
    return (value) => (value > 0 ? clamp01((Math.log10(value) - from) / (hi - from)) : 0)
  }
  const lo = Math.min(0, ...finite)
  const hi = Math.max(0, ...finite)
  const span = hi - lo
  return (value) => (span === 0 ? 0 : clamp01((value - lo) / span))
}

function clamp01(v: number): number {
  return Math.min(1, Math.max(0, v))
}

export interface ScalarValue {
  value: number | null
  /** Runs the value comes from. */
  runs: number
  /** How it was made: `latest` (one run), `mean` or `median` (across runs). */
  how: 'latest' | Aggregate
}

/** A big number: one run's latest value, or the aggregate of the latest values across runs. */
export function scalarValue(runs: readonly ValueRun[], metric: string, seriesOf: SeriesOf, aggregate: Aggregate): ScalarValue {
  const values = runs.map((run) => latestValue(run, metric, seriesOf)).filter((v): v is number => v !== null)
  if (values.length === 0) return { value: null, runs: 0, how: 'latest' }
  if (values.length === 1) return { value: values[0], runs: 1, how: 'latest' }
  return { value: summarize(values, aggregate, 'none').center, runs: values.length, how: aggregate }
}

export interface ScatterPoint {
  runId: string
  label: string
  x: number
  y: number
  /** Position of the run in its list, for its colour. */
  index: number
}

/**
 * One point per run: y is its latest `yMetric`, x its `config.KEY` (a number),
 * its latest value of another metric, or (`step`) its last logged step.
 * Runs without both numbers are counted in `missing`.
 */
export function scatterPoints(runs: readonly ValueRun[], xKey: string, yMetric: string, seriesOf: SeriesOf): { points: ScatterPoint[]; missing: number } {
  const points: ScatterPoint[] = []
  let missing = 0
  runs.forEach((run, index) => {
    const y = latestValue(run, yMetric, seriesOf)
    let x: number | null
    if (xKey.startsWith('config.')) x = numeric(configValue(run.config, xKey))
    else if (!xKey || xKey === 'step') {
      const steps = seriesOf(run.id, yMetric)?.steps
      x = steps?.length ? steps[steps.length - 1] : null
    } else x = latestValue(run, xKey, seriesOf)
    if (x === null || y === null) missing += 1
    else points.push({ runId: run.id, label: run.name, x, y, index })
  })
  return { points, missing }
}

/** A number for a person: short, with an exponent when very large or small. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value)
  const abs = Math.abs(value)
  if (abs >= 1e6 || (abs < 1e-3 && value !== 0)) return value.toExponential(3)
  return String(Math.round(value * 10000) / 10000)
}
