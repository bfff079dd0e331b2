/**
 * What a line panel draws, free of the DOM: one line per run and metric, or,
 * grouped by a config key, one aggregate line per group and metric with its
 * band; x is the step or another metric; smoothing and log scale applied.
 */

import { aggregateColumns, groupRuns, type Aggregate, type Band } from './aggregate'
import { alignLines, pairByStep, type Line, type Series } from './chartData'

export interface PlotRun {
  id: string
  name: string
  config: Record<string, unknown>
}

export interface LineOptions {
  runs: readonly PlotRun[]
  metrics: readonly string[]
  /** A run's logged series of a metric. */
  seriesOf: (runId: string, metric: string) => Series | undefined
  xAxis: string
  smoothing: number
  logScale: boolean
  groupBy: string | null
  aggregate: Aggregate
  band: Band
  /** Colour of the nth run (in `runs`) or the nth group. */
  color: (index: number) => string
}

export interface PlotSeries {
  /** Legend entry this series belongs to (a run or a group, and a metric); bands share their line's. */
  legendKey: string
  label: string
  color: string
  role: 'line' | 'lo' | 'hi'
  values: (number | null)[]
}

export interface LinePlan {
  xLabel: string
  xs: number[]
  series: PlotSeries[]
  /** [hi, lo] series positions (in `series`) of each band. */
  bands: [number, number][]
  /** Raw points behind the lines (what was logged, before alignment). */
  points: number
}

/** Whether `xAxis` is the step (config keys only make sense on a scatter plot). */
export function usesStep(xAxis: string): boolean {
  return !xAxis || xAxis === 'step' || xAxis.startsWith('config.')
}

export function planLines(options: LineOptions): LinePlan {
  const { runs, metrics, seriesOf, xAxis, smoothing, logScale } = options
  const byStep = usesStep(xAxis)
  const xLabel = byStep ? 'step' : xAxis
  const several = metrics.length > 1
  let points = 0
  const lineOf = (run: PlotRun, metric: string): Series | null => {
    const y = seriesOf(run.id, metric)
    if (!y || y.steps.length === 0) return null
    if (byStep) {
      points += y.steps.length
      return y
    }
    const x = seriesOf(run.id, xAxis)
    if (!x) return null
    const paired = pairByStep(x, y)
    points += paired.steps.length
    return paired.steps.length ? paired : null
  }

  if (!options.groupBy) {
    const lines: (Line & { key: string; color: string })[] = []
    runs.forEach((run, index) => {
      for (const metric of metrics) {
        const series = lineOf(run, metric)
        if (!series) continue
        lines.push({ key: `${run.id}\u0000${metric}`, label: several ? `${run.name} · ${metric}` : run.name, series, color: options.color(index) })
      }
    })
    const [xs, ...columns] = alignLines(lines, smoothing, logScale)
    return {
      xLabel,
      xs,
      series: lines.map((line, i) => ({ legendKey: line.key, label: line.label, color: line.color, role: 'line', values: columns[i] })),
      bands: [],
      points,
    }
  }

  // Every member line on one shared x, then each group's rows aggregated.
  const groups = groupRuns(runs, options.groupBy)
  const members: { group: number; metric: string; line: Line }[] = []
  groups.forEach((group, g) => {
    for (const run of group.runs) {
      for (const metric of metrics) {
        const series = lineOf(run, metric)
        if (series) members.push({ group: g, metric, line: { label: run.name, series } })
      }
    }
  })
  const [xs, ...columns] = alignLines(
    members.map((m) => m.line),
    smoothing,
    logScale,
  )
  const series: PlotSeries[] = []
  const bands: [number, number][] = []
  groups.forEach((group, g) => {
    for (const metric of metrics) {
      const mine = members.map((m, i) => (m.group === g && m.metric === metric ? columns[i] : null)).filter((c): c is (number | null)[] => c !== null)
      if (mine.length === 0) continue
      const agg = aggregateColumns(xs, mine, options.aggregate, options.band)
      const legendKey = `group\u0000${group.label}\u0000${metric}`
      const label = `${group.label}${several ? ` · ${metric}` : ''} (${mine.length})`
      const color = options.color(g)
      series.push({ legendKey, label, color, role: 'line', values: agg.center })
      if (options.band !== 'none') {
        const lo = logScale ? agg.lo.map((v) => (v !== null && v > 0 ? v : null)) : agg.lo
        series.push({ legendKey, label: `${label} low`, color, role: 'lo', values: lo })
        series.push({ legendKey, label: `${label} high`, color, role: 'hi', values: agg.hi })
        bands.push([series.length - 1, series.length - 2])
      }
    }
  })
  return { xLabel, xs, series, bands, points }
}
