/**
 * One metric of one run as a uPlot line chart (step on x), for the run page. New points
 * only replace the chart's data; the chart follows its container's width.
 */

import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'

import { formatTicks, tickAxisSize } from '../panels/axisTicks'
import { h } from './dom'
import { formatNumber } from './runsTable'
import type { MetricSeries } from './runsSeries'

const HEIGHT = 180
const STEP_TICKS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 2e6, 5e6, 1e7, 1e8, 1e9]
const COLOR = '#4263eb'

export class MetricChart {
  readonly element: HTMLElement
  private readonly host: HTMLElement
  private readonly latest: HTMLElement
  private plot: uPlot | null = null
  private readonly resize: ResizeObserver

  constructor(readonly metric: string) {
    this.host = h('div', { class: 'run-chart__plot' })
    this.latest = h('span', { class: 'run-chart__latest' })
    this.element = h(
      'figure',
      { class: 'run-chart', 'data-metric': metric, 'data-points': '0' },
      h('figcaption', { class: 'run-chart__title' }, h('span', { class: 'run-chart__name' }, metric), this.latest),
      this.host,
    )
    this.resize = new ResizeObserver(() => {
      const width = this.width()
      if (this.plot && width > 0 && Math.abs(this.plot.width - width) > 1) this.plot.setSize({ width, height: HEIGHT })
    })
    this.resize.observe(this.host)
  }

  /** Show `series` (sorted by step). */
  update(series: MetricSeries): void {
    const data: uPlot.AlignedData = [series.steps, series.values]
    this.element.dataset.points = String(series.steps.length)
    const last = series.values.at(-1)
    this.latest.textContent = last === undefined ? '' : `${formatNumber(last)} at step ${series.steps.at(-1)}`
    if (this.plot) {
      this.plot.setData(data)
      return
    }
    this.plot = new uPlot(
      {
        width: this.width() || 320,
        height: HEIGHT,
        legend: { show: false },
        cursor: { drag: { x: true, y: false } },
        scales: { x: { time: false } },
        axes: [
          // Steps are whole numbers: no ticks between them.
          { stroke: '#59636e', grid: { stroke: '#eef1f4' }, ticks: { stroke: '#d8dee4' }, incrs: STEP_TICKS },
          { stroke: '#59636e', grid: { stroke: '#eef1f4' }, ticks: { stroke: '#d8dee4' }, size: (_u, values) => tickAxisSize(values ?? [], 56), values: (_u, ticks, _axis, _space, increment) => formatTicks(ticks, increment) },
        ],
        series: [{ label: 'step' }, { label: this.metric, stroke: COLOR, width: 1.5, points: { show: series.steps.length < 60 } }],
      },
      data,
      this.host,
    )
  }

  destroy(): void {
    this.resize.disconnect()
    this.plot?.destroy()
    this.plot = null
  }

  private width(): number {
    return Math.floor(this.host.clientWidth)
  }
}
