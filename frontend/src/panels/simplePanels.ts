/**
 * The panels drawn with plain HTML: bar charts, scalars, run tables, markdown
 * text and media (images logged by runs, with a step slider).
 */

import { h } from '../views/dom'
import type { Series } from './chartData'
import { markdownToHtml } from './markdown'
import { listMedia, mediaAt, mediaRefreshDelay, mediaSteps, type MediaItem } from './media'
import { colorAt } from './palette'
import { barData, barScale, formatNumber, latestValue, scalarValue } from './panelValues'
import { emptyNote, type PanelContext, type PanelRenderer } from './renderer'
import './panels.css'

const seriesOf = (ctx: PanelContext) => (runId: string, metric: string): Series | undefined => ctx.data.series.get(runId)?.byMetric.get(metric)

function note(text: string): HTMLElement {
  return h('p', { class: 'panel__note' }, text)
}

/** One bar per run (or group): the latest value of the panel's first metric. */
export class BarChart implements PanelRenderer {
  constructor(private readonly content: HTMLElement) {}

  render(ctx: PanelContext): void {
    const { spec, data, reader } = ctx
    const metric = spec.metrics[0] ?? ''
    const bars = metric ? barData(data.runs, { metric, seriesOf: seriesOf(ctx), groupBy: spec.groupBy, aggregate: spec.aggregate, band: spec.band }) : []
    this.content.dataset.points = String(bars.length)
    if (bars.length === 0) {
      this.content.replaceChildren(note(emptyNote(ctx, 'values')))
      return
    }
    const visible = bars.filter((bar) => !reader.hidden.has(bar.key))
    const scale = barScale(
      visible.flatMap((bar) => [bar.value, bar.lo, bar.hi].filter((v): v is number => v !== null)),
      spec.logScale,
    )
    const zero = spec.logScale ? 0 : scale(0)
    const pct = (v: number) => `${(v * 100).toFixed(2)}%`
    const rows = bars.map((bar) => {
      const hidden = reader.hidden.has(bar.key)
      const label = h(
        'button',
        { type: 'button', class: 'bar-chart__label', 'aria-pressed': String(!hidden), title: `${bar.label}: click to ${hidden ? 'show' : 'hide'}` },
        h('span', { class: 'panel-legend__swatch', style: `background: ${colorAt(bar.index)}` }),
        bar.runs > 1 ? `${bar.label} (${bar.runs})` : bar.label,
      )
      label.addEventListener('click', () => {
        label.setAttribute('aria-pressed', String(reader.hidden.has(bar.key)))
        if (reader.hidden.has(bar.key)) reader.hidden.delete(bar.key)
        else reader.hidden.add(bar.key)
        ctx.redraw()
      })
      const track = h('span', { class: 'bar-chart__track' })
      if (!hidden) {
        const end = scale(bar.value)
        track.append(h('span', { class: 'bar-chart__bar', style: `left: ${pct(Math.min(zero, end))}; width: ${pct(Math.abs(end - zero))}; background: ${colorAt(bar.index)}` }))
        if (bar.lo !== null && bar.hi !== null) {
          const lo = scale(bar.lo)
          track.append(h('span', { class: 'bar-chart__band', style: `left: ${pct(lo)}; width: ${pct(Math.max(0, scale(bar.hi) - lo))}` }))
        }
      }
      const band = bar.lo !== null && bar.hi !== null ? ` (${formatNumber(bar.lo)} to ${formatNumber(bar.hi)})` : ''
      return h(
        'div',
        { class: 'bar-chart__row', role: 'listitem' },
        label,
        track,
        h('span', { class: 'bar-chart__value', title: `${bar.value}${band}` }, hidden ? '' : formatNumber(bar.value)),
      )
    })
    const aggregate = spec.groupBy ? `, ${spec.aggregate} per group` : ''
    this.content.replaceChildren(
      h('div', { class: 'bar-chart', role: 'list', 'aria-label': `Latest ${metric}${aggregate}` }, ...rows),
      h('p', { class: 'panel__note' }, `Latest ${metric}${aggregate}${spec.logScale ? ', log scale' : ''}`),
    )
  }

  resize(): void {}

  destroy(): void {}
}

/** A big number: the latest value of one run, or the mean (or median) across runs. */
export class ScalarPanel implements PanelRenderer {
  constructor(private readonly content: HTMLElement) {}

  render(ctx: PanelContext): void {
    const { spec, data } = ctx
    const metric = spec.metrics[0] ?? ''
    const result = metric ? scalarValue(data.runs, metric, seriesOf(ctx), spec.aggregate) : null
    if (!result || result.value === null) {
      delete this.content.dataset.value
      this.content.replaceChildren(note(emptyNote(ctx, 'values')))
      return
    }
    this.content.dataset.value = String(result.value)
    const how = result.how === 'latest' ? `latest ${metric}` : `${result.how} of latest ${metric} across ${result.runs} runs`
    this.content.replaceChildren(
      h('div', { class: 'scalar' }, h('output', { class: 'scalar__value', title: String(result.value) }, formatNumber(result.value)), h('span', { class: 'scalar__caption' }, how)),
    )
  }

  resize(): void {}

  destroy(): void {}
}

/** Runs as rows; the panel's metrics as columns (their latest values). */
export class RunTable implements PanelRenderer {
  constructor(private readonly content: HTMLElement) {}

  render(ctx: PanelContext): void {
    const { spec, data } = ctx
    const columns = spec.metrics
    const values = seriesOf(ctx)
    if (data.runs.length === 0) {
      this.content.replaceChildren(note(emptyNote(ctx, 'runs')))
      return
    }
    const cell = (run: (typeof data.runs)[number], key: string): string => {
      const value = latestValue(run, key, values)
      if (value !== null) return formatNumber(value)
      const other = run.summary[key]
      return other === undefined || other === null ? '—' : String(other)
    }
    this.content.replaceChildren(
      h(
        'table',
        { class: 'run-table' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Run'), h('th', { scope: 'col' }, 'State'), ...columns.map((c) => h('th', { scope: 'col' }, c)))),
        h(
          'tbody',
          {},
          ...data.runs.map((run, i) =>
            h(
              'tr',
              {},
              h('th', { scope: 'row' }, h('span', { class: 'panel-legend__swatch', style: `background: ${colorAt(i)}` }), run.name),
              h('td', {}, run.state),
              ...columns.map((c) => h('td', {}, cell(run, c))),
            ),
          ),
        ),
      ),
    )
  }

  resize(): void {}

  destroy(): void {}
}

/** Text: the panel's `markdown`, rendered safely (see markdown.ts). */
export class MarkdownPanel implements PanelRenderer {
  private source: string | null = null

  constructor(private readonly content: HTMLElement) {}

  render(ctx: PanelContext): void {
    const text = ctx.spec.markdown
    if (text === this.source) return
    this.source = text
    if (!text.trim()) {
      this.content.replaceChildren(note(ctx.editable ? 'Empty: Edit the panel to write its text.' : 'Empty.'))
      return
    }
    const body = h('div', { class: 'panel-markdown' })
    // markdownToHtml escapes every character of the source; only its own tags remain.
    body.innerHTML = markdownToHtml(text)
    this.content.replaceChildren(body)
  }

  resize(): void {}

  destroy(): void {}
}

/** Runs whose images a media panel shows side by side. */
const MEDIA_RUNS = 12
/** While runs log, look for new images at most this often (the live stream carries metrics only). */
const MEDIA_REFRESH_MS = 5000

const runningIn = (ctx: PanelContext) => ctx.data.runs.slice(0, MEDIA_RUNS).some((run) => run.state === 'running')

/** Images logged under the panel's `media_key`, one per run, at the step the slider picks. */
export class MediaPanel implements PanelRenderer {
  private readonly items = new Map<string, MediaItem[]>()
  private wanted = ''
  private fetchedAt = 0
  private abort: AbortController | null = null
  private error: string | null = null
  private loading = false
  private refreshTimer: number | null = null
  private ctx: PanelContext | null = null
  private readonly slider: HTMLInputElement
  private readonly stepLabel: HTMLElement
  private readonly controls: HTMLElement
  private readonly gallery: HTMLElement
  private readonly status: HTMLElement
  private shown = ''

  constructor(private readonly content: HTMLElement) {
    this.slider = h('input', { type: 'range', class: 'media__slider', min: 0, max: 0, step: 1, value: 0, 'aria-label': 'Step' })
    this.stepLabel = h('output', { class: 'media__step' })
    this.controls = h('div', { class: 'media__controls' }, h('span', {}, 'Step'), this.slider, this.stepLabel)
    this.gallery = h('div', { class: 'media__gallery' })
    this.status = h('p', { class: 'panel__note', 'aria-live': 'polite' })
    this.content.replaceChildren(this.controls, this.gallery, this.status)
    this.slider.addEventListener('input', () => {
      const ctx = this.ctx
      if (!ctx) return
      const steps = mediaSteps(this.items.values())
      const index = Number(this.slider.value)
      // At the right end the panel follows new images; elsewhere it stays put.
      ctx.reader.mediaStep = index >= steps.length - 1 ? null : steps[index]
      this.draw(ctx)
    })
  }

  render(ctx: PanelContext): void {
    this.ctx = ctx
    const key = ctx.spec.mediaKey
    const runs = ctx.data.runs.slice(0, MEDIA_RUNS)
    const wanted = key ? `${key}\u0000${runs.map((r) => r.id).join(',')}` : ''
    if (wanted !== this.wanted) {
      this.wanted = wanted
      this.items.clear()
      this.shown = ''
      if (key) void this.fetch(ctx, key, runs.map((r) => r.id))
    } else if (key && !this.loading) {
      // Rendered again: rows arrived (or the grid changed). Their images may follow them.
      this.refreshIn(mediaRefreshDelay(Date.now() - this.fetchedAt, MEDIA_REFRESH_MS, true, runningIn(ctx)))
    }
    this.draw(ctx)
  }

  resize(): void {}

  destroy(): void {
    this.abort?.abort()
    this.cancelRefresh()
  }

  /** List the images again after `delay` ms (unless a refresh is already due sooner). */
  private refreshIn(delay: number | null): void {
    if (delay === null || this.refreshTimer !== null) return
    this.refreshTimer = window.setTimeout(() => {
      this.refreshTimer = null
      const ctx = this.ctx
      const key = ctx?.spec.mediaKey
      if (ctx && key && !this.loading) void this.fetch(ctx, key, ctx.data.runs.slice(0, MEDIA_RUNS).map((r) => r.id))
    }, delay)
  }

  private cancelRefresh(): void {
    if (this.refreshTimer !== null) window.clearTimeout(this.refreshTimer)
    this.refreshTimer = null
  }

  private async fetch(ctx: PanelContext, key: string, runIds: string[]): Promise<void> {
    this.abort?.abort()
    this.cancelRefresh()
    const abort = new AbortController()
    this.abort = abort
    this.loading = true
    this.fetchedAt = Date.now()
    try {
      const lists = await Promise.all(runIds.map((id) => listMedia(id, key, abort.signal)))
      if (abort.signal.aborted) return
      this.items.clear()
      runIds.forEach((id, i) => this.items.set(id, lists[i]))
      this.error = null
    } catch (error) {
      if (abort.signal.aborted) return
      this.error = error instanceof Error ? error.message : String(error)
    }
    this.loading = false
    // A running run may log images without rows: look again later.
    const latest = this.ctx ?? ctx
    this.refreshIn(mediaRefreshDelay(0, MEDIA_REFRESH_MS, false, runningIn(latest)))
    this.draw(ctx)
  }

  private draw(ctx: PanelContext): void {
    const key = ctx.spec.mediaKey
    const steps = mediaSteps(this.items.values())
    this.content.dataset.images = '0'
    if (!key || steps.length === 0) {
      this.controls.hidden = true
      this.gallery.replaceChildren()
      this.shown = ''
      this.status.textContent = !key
        ? ctx.editable
          ? 'No image key chosen yet: Edit the panel to pick one.'
          : 'No image key chosen yet.'
        : this.error
          ? `Could not load images: ${this.error}`
          : this.loading || !ctx.data.loaded
            ? 'Loading images…'
            : `No media logged under “${key}” by these runs.`
      return
    }
    const wantedStep = ctx.reader.mediaStep
    let index = steps.length - 1
    if (wantedStep !== null) {
      index = 0
      while (index + 1 < steps.length && steps[index + 1] <= wantedStep) index++
    }
    const step = steps[index]
    this.controls.hidden = steps.length < 2
    this.slider.max = String(steps.length - 1)
    this.slider.value = String(index)
    this.slider.setAttribute('aria-valuetext', `step ${step}`)
    this.stepLabel.textContent = String(step)
    this.status.textContent = this.error ? `Could not refresh images: ${this.error}` : ''
    const runs = ctx.data.runs.slice(0, MEDIA_RUNS)
    const picks = runs.map((run) => ({ run, images: mediaAt(this.items.get(run.id) ?? [], step) })).filter((p) => p.images.length > 0)
    this.content.dataset.images = String(picks.reduce((n, p) => n + p.images.length, 0))
    const shown = JSON.stringify(picks.map((p) => p.images.map((i) => i.id)))
    if (shown === this.shown) return
    this.shown = shown
    this.gallery.replaceChildren(
      ...picks.flatMap(({ run, images }) =>
        images.map((image) =>
          h(
            'figure',
            { class: 'media__item' },
            h('img', { src: image.url, alt: image.caption || `${key} of ${run.name} at step ${image.step}`, loading: 'lazy', decoding: 'async' }),
            h('figcaption', {}, `${run.name} · step ${image.step}${image.caption ? ` · ${image.caption}` : ''}`),
          ),
        ),
      ),
    )
  }
}
