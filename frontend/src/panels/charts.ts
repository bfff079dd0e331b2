/**
 * Line and scatter panels, drawn with uPlot. The reader's controls live here:
 * the legend hides and shows runs, dragging across the plot zooms in, a
 * double click zooms back out, and the legend shows the values under the
 * cursor. A plot is rebuilt only when its series change; new points only
 * replace its data.
 */

import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import './panels.css'

import { h } from '../views/dom'
import { formatTicks, tickAxisSize } from './axisTicks'
import type { Series } from './chartData'
import { Legend } from './legend'
import { planLines } from './lineData'
import { colorAt, withAlpha } from './palette'
import { formatNumber, scatterPoints } from './panelValues'
import { emptyNote, type PanelContext, type PanelRenderer } from './renderer'

const STEP_TICKS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 1e7, 1e8]
const MIN_HEIGHT = 80

interface PlotSeries {
  legendKey: string
  label: string
  color: string
  /** `lo`/`hi`: the edges of a band (drawn only as its fill); `point`: markers only. */
  role: 'line' | 'lo' | 'hi' | 'point'
  values: (number | null)[]
}

interface PlotModel {
  xLabel: string
  /** x is a step: ticks only on whole numbers. */
  stepTicks: boolean
  logScale: boolean
  xs: number[]
  series: PlotSeries[]
  /** [hi, lo] positions in `series`. */
  bands: [number, number][]
  /** Leave room left and right of the outermost points (markers would be cut in half). */
  padX?: boolean
}

/** A range a little wider than the data's. */
function padded(_u: uPlot, min: number | null, max: number | null): uPlot.Range.MinMax {
  if (min === null || max === null) return [min, max]
  const span = max - min || Math.abs(max) || 1
  return [min - span * 0.06, max + span * 0.06]
}

function setText(element: HTMLElement, text: string): void {
  if (element.textContent !== text) element.textContent = text
}

function setShown(element: HTMLElement, shown: boolean): void {
  if (element.hidden === shown) element.hidden = !shown
}

const seriesOf = (ctx: PanelContext) => (runId: string, metric: string): Series | undefined => ctx.data.series.get(runId)?.byMetric.get(metric)

/** One uPlot chart with its legend, in a panel's content area. */
class Plot {
  private plot: uPlot | null = null
  private model: PlotModel | null = null
  private signature = ''
  private ctx: PanelContext | null = null
  private readonly host: HTMLElement
  private readonly legend: Legend
  private readonly note: HTMLElement
  /**
   * Follows the chart area's size (the card, or the legend and note below it, changed),
   * so drawing new points never measures the page: in a long report a measurement
   * after other panels changed costs a layout of the whole document.
   */
  private readonly sizes: ResizeObserver

  constructor(private readonly content: HTMLElement) {
    this.host = h('div', { class: 'panel-chart' })
    this.note = h('p', { class: 'panel__note', hidden: true })
    this.legend = new Legend((key) => this.toggle(key))
    this.content.replaceChildren(this.host, this.note, this.legend.element)
    this.sizes = new ResizeObserver(() => this.resize())
    this.sizes.observe(this.host)
  }

  draw(ctx: PanelContext, model: PlotModel, empty: string | null, footnote = ''): void {
    this.ctx = ctx
    this.model = model
    // Only what changed is written: an unchanged page needs no layout before the canvas is drawn.
    setText(this.note, empty ?? footnote)
    setShown(this.note, Boolean(empty ?? footnote))
    if (empty !== null) {
      this.destroyPlot()
      setShown(this.legend.element, false)
      setShown(this.host, false)
      return
    }
    setShown(this.host, true)
    setShown(this.legend.element, true)
    const { hidden } = ctx.reader
    this.legend.set(
      model.series.filter((s) => s.role === 'line' || s.role === 'point').map((s) => ({ key: s.legendKey, label: s.label, color: s.color, hidden: hidden.has(s.legendKey) })),
    )
    const data = [model.xs, ...model.series.map((s) => s.values)] as uPlot.AlignedData
    const signature = JSON.stringify([model.series.map((s) => [s.legendKey, s.role, s.color, s.label]), model.logScale, model.xLabel, model.bands])
    if (this.plot && signature === this.signature) {
      // Drawn now rather than in a microtask, before other panels change the page (see PanelGridView.flush).
      this.plot.batch((plot: uPlot) => {
        model.series.forEach((s, i) => {
          const show = !hidden.has(s.legendKey)
          if (plot.series[i + 1].show !== show) plot.setSeries(i + 1, { show })
        })
        // Zoomed in: keep the reader's range while points arrive.
        plot.setData(data, ctx.reader.zoom === null)
      })
      return
    }
    this.destroyPlot()
    this.signature = signature
    this.plot = this.create(model, data, ctx)
  }

  resize(): void {
    if (!this.plot) return
    const { width, height } = this.size()
    if (width !== this.plot.width || height !== this.plot.height) this.plot.setSize({ width, height })
  }

  destroy(): void {
    this.sizes.disconnect()
    this.destroyPlot()
  }

  private size(): { width: number; height: number } {
    return { width: Math.max(120, Math.floor(this.host.clientWidth)), height: Math.max(MIN_HEIGHT, Math.floor(this.host.clientHeight)) }
  }

  private destroyPlot(): void {
    this.plot?.destroy()
    this.plot = null
    this.signature = ''
  }

  private toggle(key: string): void {
    const ctx = this.ctx
    if (!ctx) return
    if (ctx.reader.hidden.has(key)) ctx.reader.hidden.delete(key)
    else ctx.reader.hidden.add(key)
    ctx.redraw()
  }

  private create(model: PlotModel, data: uPlot.AlignedData, ctx: PanelContext): uPlot {
    const { width, height } = this.size()
    const reader = ctx.reader
    const plot = new uPlot(
      {
        width,
        height,
        legend: { show: false },
        cursor: { drag: { x: true, y: false, setScale: true }, points: { size: 6 } },
        scales: { x: { time: false, ...(model.padX ? { range: padded } : {}) }, y: model.logScale ? { distr: 3, log: 10 } : {} },
        axes: [
          { label: model.xLabel, labelSize: 18, ...(model.stepTicks ? { incrs: STEP_TICKS } : {}) },
          {
            size: (_u, values) => tickAxisSize(values ?? [], 52),
            // A log scale's ticks are not evenly spaced: no one increment to count digits from.
            values: (_u, splits, _axis, _space, increment) => (model.logScale ? splits.map((v) => (v === null ? '' : formatNumber(v))) : formatTicks(splits, increment)),
          },
        ],
        series: [
          { label: model.xLabel },
          ...model.series.map((s): uPlot.Series => {
            const show = !reader.hidden.has(s.legendKey)
            if (s.role === 'line') return { label: s.label, stroke: s.color, width: 1.5, spanGaps: true, show, points: { show: false } }
            if (s.role === 'point') return { label: s.label, stroke: s.color, fill: s.color, show, paths: () => null, points: { show: true, size: 8, fill: s.color, stroke: s.color } }
            return { label: s.label, stroke: 'transparent', width: 0, spanGaps: true, show, points: { show: false } }
          }),
        ],
        bands: model.bands.map(([hi, lo]) => ({ series: [hi + 1, lo + 1] as [number, number], fill: withAlpha(model.series[hi].color, 0.16) })),
        hooks: {
          setCursor: [(u) => this.showValues(u)],
          setScale: [
            (u, key) => {
              if (key !== 'x') return
              const xs = u.data[0]
              const { min, max } = u.scales.x
              if (min == null || max == null || xs.length === 0) return
              // A range that covers every point is no zoom (a double click, or new data).
              reader.zoom = min <= xs[0] && max >= xs[xs.length - 1] ? null : { min, max }
            },
          ],
        },
      },
      data,
      this.host,
    )
    if (reader.zoom) plot.setScale('x', reader.zoom)
    return plot
  }

  private showValues(u: uPlot): void {
    const model = this.model
    const idx = u.cursor.idx
    if (!model || idx === null || idx === undefined) {
      this.legend.showValues(null, new Map())
      return
    }
    const values = new Map<string, string>()
    model.series.forEach((s) => {
      if (s.role !== 'line' && s.role !== 'point') return
      const v = s.values[idx]
      if (v !== null && v !== undefined) values.set(s.legendKey, formatNumber(v))
    })
    this.legend.showValues(`${model.xLabel} ${formatNumber(model.xs[idx])}`, values)
  }
}

export class LineChart implements PanelRenderer {
  private readonly plot: Plot

  constructor(private readonly content: HTMLElement) {
    this.plot = new Plot(content)
  }

  render(ctx: PanelContext): void {
    const { spec, data, reader } = ctx
    const plan = planLines({
      runs: data.runs,
      metrics: spec.metrics,
      seriesOf: seriesOf(ctx),
      xAxis: spec.xAxis,
      smoothing: reader.smoothing ?? spec.smoothing,
      logScale: spec.logScale,
      groupBy: spec.groupBy,
      aggregate: spec.aggregate,
      band: spec.band,
      color: colorAt,
    })
    this.content.dataset.points = String(plan.points)
    const empty = plan.series.length === 0 ? emptyNote(ctx) : null
    this.plot.draw(ctx, { ...plan, stepTicks: plan.xLabel === 'step', logScale: spec.logScale }, empty)
  }

  resize(): void {
    this.plot.resize()
  }

  destroy(): void {
    this.plot.destroy()
  }
}

export class ScatterChart implements PanelRenderer {
  private readonly plot: Plot

  constructor(private readonly content: HTMLElement) {
    this.plot = new Plot(content)
  }

  render(ctx: PanelContext): void {
    const { spec, data } = ctx
    const metric = spec.metrics[0] ?? ''
    const xKey = spec.xAxis || 'step'
    const { points, missing } = metric ? scatterPoints(data.runs, xKey, metric, seriesOf(ctx)) : { points: [], missing: 0 }
    const shown = spec.logScale ? points.filter((p) => p.y > 0) : points
    this.content.dataset.points = String(shown.length)
    const xs = [...new Set(shown.map((p) => p.x))].sort((a, b) => a - b)
    const at = new Map(xs.map((x, i) => [x, i]))
    const series: PlotSeries[] = shown.map((p) => {
      const values = new Array<number | null>(xs.length).fill(null)
      values[at.get(p.x)!] = p.y
      return { legendKey: p.runId, label: p.label, color: colorAt(p.index), role: 'point', values }
    })
    const empty = series.length === 0 ? (data.loaded && metric && data.runs.length ? `No run has both ${xKey} and ${metric}.` : emptyNote(ctx, 'values')) : null
    const footnote = missing ? `${missing} run${missing === 1 ? '' : 's'} without both values not shown.` : ''
    this.plot.draw(ctx, { xLabel: xKey, stepTicks: false, logScale: spec.logScale, xs, series, bands: [], padX: true }, empty, footnote)
  }

  resize(): void {
    this.plot.resize()
  }

  destroy(): void {
    this.plot.destroy()
  }
}
