/**
 * The `panelGrid` block: an atom node holding only `gridId`; its node view
 * reads the grid, panels and run sets from the report document and draws
 * line panels (uPlot) and run tables, live from the runs stream.
 */

import { mergeAttributes, Node } from '@tiptap/core'
import type { Node as PmNode } from '@tiptap/pm/model'
import type { NodeView } from '@tiptap/pm/view'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import type * as Y from 'yjs'

import { h } from '../views/dom'
import { alignLines, type Line } from './chartData'
import { readGrid, type GridSpec, type PanelSpec } from './gridModel'
import { GridRuns } from './runData'

export interface PanelGridOptions {
  doc: Y.Doc | null
  /** Start a comment thread on a panel (the comments sidebar). */
  commentOnPanel: (panelId: string) => void
}

const STEP_TICKS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 1e7, 1e8]
const PALETTE = ['#4263eb', '#e8590c', '#2f9e44', '#ae3ec9', '#c92a2a', '#0c8599', '#f08c00', '#5c940d']

export const PanelGrid = Node.create<PanelGridOptions>({
  name: 'panelGrid',
  group: 'block',
  atom: true,
  selectable: true,
  draggable: true,

  addOptions() {
    return { doc: null, commentOnPanel: () => undefined }
  },

  addAttributes() {
    return {
      gridId: {
        default: null,
        parseHTML: (element) => element.getAttribute('data-grid-id'),
        renderHTML: (attrs) => ({ 'data-grid-id': attrs.gridId as string | null }),
      },
    }
  },

  parseHTML() {
    return [{ tag: 'div[data-panel-grid]' }]
  },

  renderHTML({ HTMLAttributes }) {
    return ['div', mergeAttributes(HTMLAttributes, { 'data-panel-grid': '' })]
  },

  addNodeView() {
    const { doc, commentOnPanel } = this.options
    return ({ node }) => new PanelGridView(node, doc, commentOnPanel)
  },
})

class PanelGridView implements NodeView {
  readonly dom: HTMLElement
  private readonly body: HTMLElement
  private readonly runs = new GridRuns()
  private readonly charts = new Map<string, { plot: uPlot; width: number; signature: string }>()
  private spec: GridSpec | null = null
  private gridId: string
  private frame: number | null = null
  private readonly resize: ResizeObserver

  constructor(
    node: PmNode,
    private readonly doc: Y.Doc | null,
    private readonly commentOnPanel: (panelId: string) => void,
  ) {
    this.gridId = String(node.attrs.gridId ?? '')
    this.body = h('div', { class: 'panel-grid__panels' })
    this.dom = h('div', { class: 'panel-grid', 'data-grid-id': this.gridId, contenteditable: 'false' }, this.body)
    this.runs.onChange(() => this.schedule())
    this.resize = new ResizeObserver(() => this.schedule())
    this.resize.observe(this.dom)
    if (doc) {
      for (const name of ['grids', 'panels', 'runsets']) doc.getMap(name).observeDeep(this.onDocChange)
    }
    this.reload()
  }

  private readonly onDocChange = () => {
    const next = this.doc ? readGrid(this.doc, this.gridId) : null
    if (JSON.stringify(next) !== JSON.stringify(this.spec)) this.reload()
  }

  update(node: PmNode): boolean {
    if (node.type.name !== 'panelGrid') return false
    const gridId = String(node.attrs.gridId ?? '')
    if (gridId !== this.gridId) {
      this.gridId = gridId
      this.dom.dataset.gridId = gridId
      this.reload()
    }
    return true
  }

  stopEvent(event: Event): boolean {
    // Clicks and typing inside panels (forms, chart zoom) are the panel's, not the editor's.
    return !(event.type === 'dragstart' || event.type === 'drop')
  }

  ignoreMutation(): boolean {
    return true
  }

  destroy(): void {
    if (this.doc) for (const name of ['grids', 'panels', 'runsets']) this.doc.getMap(name).unobserveDeep(this.onDocChange)
    this.runs.stop()
    this.resize.disconnect()
    if (this.frame !== null) cancelAnimationFrame(this.frame)
    for (const chart of this.charts.values()) chart.plot.destroy()
    this.charts.clear()
  }

  private reload(): void {
    this.spec = this.doc ? readGrid(this.doc, this.gridId) : null
    for (const chart of this.charts.values()) chart.plot.destroy()
    this.charts.clear()
    this.body.replaceChildren()
    if (!this.spec) {
      this.body.append(h('p', { class: 'panel-grid__empty' }, 'This panel grid is loading, or was removed.'))
      return
    }
    const keys = this.spec.panels.filter((p) => p.type === 'line').flatMap((p) => p.metrics)
    void this.runs.load(this.spec.runsets, keys)
    this.schedule()
  }

  /** Redraw at most once a frame, however many rows arrive. */
  private schedule(): void {
    if (this.frame !== null) return
    this.frame = requestAnimationFrame(() => {
      this.frame = null
      this.draw()
    })
  }

  private draw(): void {
    const spec = this.spec
    if (!spec) return
    const seen = new Set<string>()
    for (const panel of spec.panels) {
      seen.add(panel.id)
      const card = this.card(panel)
      const content = card.querySelector<HTMLElement>('.panel__content')!
      if (panel.type === 'line') this.drawLine(panel, content)
      else if (panel.type === 'run_table') this.drawTable(panel, content)
      else content.replaceChildren(h('p', { class: 'panel__note' }, `${panel.type} panels are not shown yet.`))
    }
    for (const card of [...this.body.querySelectorAll<HTMLElement>('.panel')]) {
      if (!seen.has(card.dataset.panelId ?? '')) card.remove()
    }
    const status = this.runs.error ? `Could not load runs: ${this.runs.error}` : `${this.runs.runs.length} run${this.runs.runs.length === 1 ? '' : 's'}`
    this.dom.dataset.runs = String(this.runs.runs.length)
    let footer = this.dom.querySelector<HTMLElement>('.panel-grid__footer')
    if (!footer) {
      footer = h('p', { class: 'panel-grid__footer', 'aria-live': 'polite' })
      this.dom.append(footer)
    }
    const names = spec.runsets.map((r) => `${r.name}${r.frozen ? ' (frozen)' : ''}`).join(', ')
    footer.textContent = `${names} · ${status}`
  }

  private card(panel: PanelSpec): HTMLElement {
    const existing = this.body.querySelector<HTMLElement>(`.panel[data-panel-id="${CSS.escape(panel.id)}"]`)
    if (existing) return existing
    const comment = h('button', { type: 'button', class: 'link-button', title: 'Comment on this panel' }, 'Comment')
    comment.addEventListener('click', () => this.commentOnPanel(panel.id))
    const card = h(
      'section',
      { class: `panel panel--${panel.type}`, 'data-panel-id': panel.id, 'aria-label': panel.title || panel.type },
      h('header', { class: 'panel__head' }, h('h3', { class: 'panel__title' }, panel.title || panel.metrics.join(', ') || panel.type), comment),
      h('div', { class: 'panel__content' }),
    )
    this.body.append(card)
    return card
  }

  private drawLine(panel: PanelSpec, content: HTMLElement): void {
    const lines: Line[] = []
    for (const run of this.runs.runs) {
      const series = this.runs.series.get(run.id)
      for (const metric of panel.metrics) {
        const data = series?.byMetric.get(metric)
        if (data) lines.push({ label: panel.metrics.length > 1 ? `${run.name} · ${metric}` : run.name, series: data })
      }
    }
    const data = alignLines(lines, panel.smoothing)
    const points = lines.reduce((n, line) => n + line.series.steps.length, 0)
    content.dataset.points = String(points)
    if (lines.length === 0) {
      this.charts.get(panel.id)?.plot.destroy()
      this.charts.delete(panel.id)
      content.replaceChildren(h('p', { class: 'panel__note' }, this.runs.runs.length ? 'No points logged yet.' : 'No runs match.'))
      return
    }
    const width = Math.max(240, Math.floor(content.clientWidth || 600))
    const signature = `${lines.map((l) => l.label).join('\n')}|${panel.logScale}`
    const existing = this.charts.get(panel.id)
    if (existing && existing.signature === signature) {
      existing.plot.setData(data as uPlot.AlignedData)
      if (existing.width !== width) {
        existing.plot.setSize({ width, height: 240 })
        existing.width = width
      }
      return
    }
    existing?.plot.destroy()
    content.replaceChildren()
    const plot = new uPlot(
      {
        width,
        height: 240,
        scales: { x: { time: false }, y: panel.logScale ? { distr: 3 } : {} },
        // Steps are whole numbers: no ticks between them.
        axes: [{ label: 'step', incrs: STEP_TICKS }, {}],
        series: [{ label: 'step' }, ...lines.map((line, i) => ({ label: line.label, stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: true }))],
      },
      data as uPlot.AlignedData,
      content,
    )
    this.charts.set(panel.id, { plot, width, signature })
  }

  private drawTable(panel: PanelSpec, content: HTMLElement): void {
    const columns = panel.metrics
    const table = h(
      'table',
      { class: 'run-table' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Run'), h('th', { scope: 'col' }, 'State'), ...columns.map((c) => h('th', { scope: 'col' }, c)))),
      h(
        'tbody',
        {},
        ...this.runs.runs.map((run) => {
          const last = (key: string): string => {
            const summary = run.summary[key]
            if (typeof summary === 'number') return formatNumber(summary)
            const series = this.runs.series.get(run.id)?.byMetric.get(key)
            const value = series?.values[series.values.length - 1]
            return typeof value === 'number' ? formatNumber(value) : '—'
          }
          return h('tr', {}, h('th', { scope: 'row' }, run.name), h('td', {}, run.state), ...columns.map((c) => h('td', {}, last(c))))
        }),
      ),
    )
    content.replaceChildren(table)
  }
}

function formatNumber(value: number): string {
  return Math.abs(value) >= 1000 || (Math.abs(value) < 0.001 && value !== 0) ? value.toExponential(3) : String(Math.round(value * 10000) / 10000)
}
