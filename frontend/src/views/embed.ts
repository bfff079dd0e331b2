/**
 * The embed page, `/embed/{token}`, that other tools show in an iframe: one
 * panel, or a whole report read-only. Everything comes from
 * `GET /api/embed/{token}`, which sends only what is displayed; panels are
 * drawn by the editor's own renderers (panels/), fed from that answer instead
 * of the runs API. The page acts for nobody: no cookies go along, nothing is
 * stored, no socket is opened. Panels whose runs are still logging follow
 * `GET /api/embed/{token}/stream`; when the link is revoked or expires the
 * stream ends and the page says so.
 */

import 'uplot/dist/uPlot.min.css'
import './embed.css'

import { AGGREGATES, BANDS, type Aggregate, type Band } from '../panels/aggregate'
import { RunSeries, type LiveRow } from '../panels/chartData'
import type { PanelSpec } from '../panels/gridModel'
import { panelName, rendererFor } from '../panels/panelCard'
import { newReaderState, panelMetricKeys, type PanelContext, type PanelRenderer, type ReaderState } from '../panels/renderer'
import { GridRuns } from '../panels/runData'
import { h } from './dom'

/** A panel's settings as the embed API sends them. */
export interface EmbedPanel {
  id: string
  type: string
  title: string | null
  metrics: string[]
  x_axis: string
  smoothing: number
  log_scale: boolean
  group_by: string | null
  aggregate: string
  band: string
  markdown?: string
}

export interface EmbedRun {
  id: string
  name: string
  state: string
  summary: Record<string, unknown>
  config: Record<string, unknown>
}

/** One panel and the data it draws. */
export interface EmbedPanelData {
  panel: EmbedPanel
  runs: EmbedRun[]
  series: Record<string, Record<string, { steps: number[]; values: number[] }>>
  live: boolean
}

export type EmbedBody = { expires_at: string | null } & (
  | ({ kind: 'panel' } & EmbedPanelData)
  | { kind: 'report'; title: string; html: string; panels: EmbedPanelData[]; live: boolean }
)

/** Why an embed shows nothing, from the API's answer. */
export class EmbedUnavailable extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

const apiPath = (token: string) => `/api/embed/${encodeURIComponent(token)}`

/** `GET /api/embed/{token}`, without credentials: the token in the path is the only one. */
export async function fetchEmbed(token: string, signal?: AbortSignal): Promise<EmbedBody> {
  const response = await fetch(apiPath(token), { credentials: 'omit', headers: { accept: 'application/json' }, signal })
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`
    try {
      const data = (await response.json()) as { error?: unknown }
      if (typeof data.error === 'string') message = data.error
    } catch {
      // Not JSON: the status line says it.
    }
    throw new EmbedUnavailable(response.status, message)
  }
  return (await response.json()) as EmbedBody
}

/** What a person sees instead of the embed. */
export function unavailableText(error: unknown): string {
  if (error instanceof EmbedUnavailable) {
    if (error.status === 410) return `${capitalize(error.message)}. Ask the report's owner for a new embed link.`
    if (error.status === 404) return `${capitalize(error.message)}: this embed link does not exist, or what it showed was removed.`
    return `Could not load this embed: ${error.message}`
  }
  return `Could not load this embed: ${error instanceof Error ? error.message : String(error)}`
}

function capitalize(text: string): string {
  return text ? text[0].toUpperCase() + text.slice(1) : text
}

/** The editor's panel settings from the embed's. */
export function panelSpec(panel: EmbedPanel): PanelSpec {
  return {
    id: panel.id,
    type: panel.type,
    title: panel.title ?? '',
    metrics: panel.metrics,
    xAxis: panel.x_axis || 'step',
    smoothing: panel.smoothing,
    logScale: panel.log_scale,
    groupBy: panel.group_by || null,
    aggregate: (AGGREGATES as readonly string[]).includes(panel.aggregate) ? (panel.aggregate as Aggregate) : 'mean',
    band: (BANDS as readonly string[]).includes(panel.band) ? (panel.band as Band) : 'min_max',
    mediaKey: null,
    markdown: panel.markdown ?? '',
    layout: null,
  }
}

/** The runs behind one panel, as the renderers read them, filled from the embed's answer. */
export function gridRunsOf(data: EmbedPanelData): GridRuns {
  const runs = new GridRuns()
  runs.runs = data.runs.map((run) => ({ id: run.id, project: '', name: run.name, state: run.state, config: run.config, summary: run.summary }))
  for (const [runId, byKey] of Object.entries(data.series)) {
    runs.series.set(runId, RunSeries.fromHistory({ run_id: runId, series: byKey }, Object.keys(byKey)))
  }
  runs.loaded = true
  return runs
}

/** Embeds draw every panel type but media (the embed answer carries no images). */
function embedRendererFor(type: string, content: HTMLElement): PanelRenderer | null {
  return type === 'media' ? null : rendererFor(type, content)
}

/** One drawn panel: its renderer, its data, and the reader's own view of it. */
class EmbeddedPanel {
  readonly spec: PanelSpec
  readonly runs: GridRuns
  private readonly keys: string[]
  private readonly reader: ReaderState = newReaderState()
  private readonly renderer: PanelRenderer | null
  private frame: number | null = null

  constructor(data: EmbedPanelData, content: HTMLElement) {
    this.spec = panelSpec(data.panel)
    this.runs = gridRunsOf(data)
    // What the panel draws, whether or not a run has logged it yet.
    this.keys = panelMetricKeys(this.spec)
    this.renderer = embedRendererFor(this.spec.type, content)
    if (!this.renderer) content.replaceChildren(h('p', { class: 'panel__note' }, `${this.spec.type} panels are not shown in embeds.`))
    this.draw()
  }

  /** New rows of one run from the live stream. */
  addRows(runId: string, rows: readonly LiveRow[]): void {
    if (!this.runs.runs.some((run) => run.id === runId)) return
    let series = this.runs.series.get(runId)
    if (!series) {
      series = new RunSeries()
      this.runs.series.set(runId, series)
    }
    if (series.addRows(rows, this.keys)) this.schedule()
  }

  resize(): void {
    this.renderer?.resize()
  }

  destroy(): void {
    if (this.frame !== null) cancelAnimationFrame(this.frame)
    this.renderer?.destroy()
    this.runs.stop()
  }

  private schedule(): void {
    if (this.frame !== null) return
    this.frame = requestAnimationFrame(() => {
      this.frame = null
      this.draw()
    })
  }

  private draw(): void {
    const ctx: PanelContext = { spec: this.spec, data: this.runs, reader: this.reader, editable: false, redraw: () => this.schedule() }
    this.renderer?.render(ctx)
  }
}

/** The panel card of a panel embed: filling the frame, its title above. */
function panelCard(data: EmbedPanelData): { element: HTMLElement; content: HTMLElement } {
  const spec = panelSpec(data.panel)
  const content = h('div', { class: 'panel__content embed__content' })
  const element = h(
    'section',
    { class: `panel panel--${spec.type} embed__panel`, 'data-panel-id': spec.id, 'aria-label': panelName(spec) },
    h('header', { class: 'panel__head' }, h('h1', { class: 'panel__title embed__title' }, panelName(spec))),
    content,
  )
  return { element, content }
}

/**
 * The rendered report: its own stylesheet and `<main>`, with each drawn
 * panel's figure given a live panel (the static table or text stays for the
 * panels an embed does not draw).
 */
function reportBody(html: string): { style: HTMLStyleElement; main: HTMLElement } {
  const parsed = new DOMParser().parseFromString(html, 'text/html')
  const style = h('style', {})
  style.textContent = [...parsed.querySelectorAll('style')].map((s) => s.textContent ?? '').join('\n')
  const main = h('div', { class: 'embed__report' })
  main.append(...[...(parsed.querySelector('main')?.childNodes ?? [])].map((node) => document.importNode(node, true)))
  // Links leave the frame: the embed is not a place to browse in.
  for (const link of main.querySelectorAll<HTMLAnchorElement>('a[href]')) {
    if (link.getAttribute('href')?.startsWith('#')) continue
    link.target = '_blank'
    link.rel = 'noopener noreferrer'
  }
  return { style, main }
}

/** Show the embed for `token` in `root`; returns what to call when leaving. */
export function renderEmbed(root: HTMLElement, token: string): () => void {
  document.documentElement.classList.add('embed-page')
  const view = h('main', { class: 'embed', id: 'main', 'aria-busy': 'true' }, h('p', { class: 'embed__status', role: 'status' }, 'Loading…'))
  root.replaceChildren(view)
  let panels: EmbeddedPanel[] = []
  let source: EventSource | null = null
  /** The stream was refused outright (not ended): do not ask again on this page. */
  let streamRefused = false
  let controller: AbortController | null = null
  let stopped = false
  const resize = new ResizeObserver(() => {
    for (const panel of panels) panel.resize()
  })

  const clear = () => {
    for (const panel of panels) panel.destroy()
    panels = []
    resize.disconnect()
  }

  const fail = (error: unknown) => {
    clear()
    source?.close()
    source = null
    view.removeAttribute('aria-busy')
    view.replaceChildren(h('p', { class: 'embed__status embed__status--error', role: 'alert' }, unavailableText(error)))
  }

  const show = (body: EmbedBody) => {
    clear()
    view.removeAttribute('aria-busy')
    if (body.kind === 'panel') {
      const card = panelCard(body)
      view.className = 'embed embed--panel'
      view.replaceChildren(card.element)
      document.title = `${panelName(panelSpec(body.panel))} · coreport`
      panels = [new EmbeddedPanel(body, card.content)]
      resize.observe(card.content)
    } else {
      const { style, main } = reportBody(body.html)
      view.className = 'embed embed--report'
      view.replaceChildren(style, main)
      document.title = `${body.title || 'Report'} · coreport`
      for (const data of body.panels) {
        const figure = main.querySelector<HTMLElement>(`figure.panel[data-panel-id="${CSS.escape(data.panel.id)}"]`)
        if (!figure) continue
        const content = h('div', { class: 'panel__content embed__content' })
        figure.classList.add(`panel--${data.panel.type}`)
        figure.replaceChildren(...[...figure.children].filter((child) => child.tagName === 'FIGCAPTION'), content)
        panels.push(new EmbeddedPanel(data, content))
        resize.observe(content)
      }
    }
    follow(body.live)
  }

  const load = () => {
    controller?.abort()
    controller = new AbortController()
    fetchEmbed(token, controller.signal).then(
      (body) => {
        if (!stopped) show(body)
      },
      (error: unknown) => {
        if (!stopped && !(error instanceof DOMException && error.name === 'AbortError')) fail(error)
      },
    )
  }

  /** Follow new points while some run logs; a gap or a reconnect re-reads everything. */
  const follow = (live: boolean) => {
    if (!live || streamRefused) {
      source?.close()
      source = null
      return
    }
    if (source) return
    const stream = new EventSource(`${apiPath(token)}/stream`)
    let opened = false
    stream.addEventListener('open', () => {
      if (opened) load() // rows logged while away are not replayed
      opened = true
    })
    stream.addEventListener('history', (event) => {
      const data = JSON.parse((event as MessageEvent<string>).data) as { run_id: string; rows: LiveRow[] }
      for (const panel of panels) panel.addRows(data.run_id, data.rows)
    })
    stream.addEventListener('gap', () => load())
    stream.addEventListener('error', () => {
      // Closed for good: the link stopped working (the page says why), or the stream was
      // never available (the panels stay, without live points).
      if (stream.readyState === EventSource.CLOSED && source === stream) {
        source = null
        streamRefused = !opened
        load()
      }
    })
    source = stream
  }

  load()
  return () => {
    stopped = true
    controller?.abort()
    source?.close()
    clear()
    document.documentElement.classList.remove('embed-page')
  }
}
