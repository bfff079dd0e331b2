/**
 * "Edit panel": a dialog over one panel's settings. Every control writes its
 * own key of the panel's map as it changes (there is no Save), so two editors
 * changing different settings of one panel at once both keep their change,
 * and everyone watches the panel change live. Controls follow others' edits
 * unless they have the focus.
 */

import * as Y from 'yjs'

import { h } from '../views/dom'
import { AGGREGATES, BANDS } from './aggregate'
import { PANEL_KEYS, PANEL_TYPE_NAMES, PANEL_TYPES, panelsRoot, gridsRoot, readPanel, removePanel, setPanelKey, type PanelSpec } from './gridModel'

export interface EditorSuggestions {
  /** Metric names and config keys the grid's runs have. */
  discover(): Promise<{ metrics: string[]; configKeys: string[] }>
  mediaKeys(): Promise<string[]>
}

export interface PanelEditorOptions {
  doc: Y.Doc
  gridId: string
  panelId: string
  suggestions: EditorSuggestions
}

/** Which settings each panel type uses (the others are hidden, and kept). */
const USES: Record<string, readonly string[]> = {
  metrics: ['line', 'bar', 'scalar', 'scatter', 'run_table'],
  xAxis: ['line', 'scatter'],
  smoothing: ['line'],
  logScale: ['line', 'bar', 'scatter'],
  groupBy: ['line', 'bar'],
  aggregate: ['line', 'bar', 'scalar'],
  band: ['line', 'bar'],
  mediaKey: ['media'],
  markdown: ['markdown'],
}

const METRIC_HINTS: Record<string, string> = {
  line: 'One line per run and metric.',
  bar: 'Bars show the first metric (each run’s latest value).',
  scalar: 'Shows the first metric.',
  scatter: 'The first metric is y; one point per run.',
  run_table: 'Columns of the table (latest values).',
}

const BAND_NAMES: Record<string, string> = { min_max: 'Min to max', std: '± 1 standard deviation', none: 'No band' }

const AXIS_HINTS: Record<string, string> = {
  line: '“step”, or another metric logged at the same steps.',
  scatter: 'A config key (config.lr), another metric, or “step” (the last one).',
}

/** Call `fn` now, then at most once per `ms` while calls keep coming (the last call always lands). */
function throttle(fn: () => void, ms: number): (() => void) & { flush(): void } {
  let timer: number | null = null
  let pending = false
  const fire = () => {
    pending = false
    fn()
  }
  const tick = () => {
    timer = null
    if (!pending) return
    fire()
    timer = window.setTimeout(tick, ms)
  }
  const call = () => {
    pending = true
    if (timer !== null) return
    fire()
    timer = window.setTimeout(tick, ms)
  }
  call.flush = () => {
    if (pending) fire()
  }
  return call
}

let openDialog: { panelId: string; close: () => void } | null = null

/** Open the editor of one panel (closing any other panel's editor first); returns what closes it. */
export function openPanelEditor(options: PanelEditorOptions): () => void {
  const { doc, gridId, panelId } = options
  openDialog?.close()
  const found = panelsRoot(doc).get(panelId)
  if (!(found instanceof Y.Map)) return () => undefined
  const map: Y.Map<unknown> = found
  let spec: PanelSpec = readPanel(panelId, map)
  const write = (key: string, value: Parameters<typeof setPanelKey>[3]) => setPanelKey(doc, panelId, key, value)
  const uid = `pe-${panelId.replace(/[^A-Za-z0-9_-]/g, '')}`

  const row = (setting: string, label: string, control: HTMLElement, hint?: HTMLElement) =>
    h('div', { class: 'form-row panel-editor__row', 'data-setting': setting }, h('label', { for: control.id }, label), control, hint)

  // -- type and title
  const type = h('select', { id: `${uid}-type`, class: 'input' }, ...PANEL_TYPES.map((t) => h('option', { value: t }, PANEL_TYPE_NAMES[t])))
  type.addEventListener('change', () => write(PANEL_KEYS.type, type.value))
  const title = h('input', { id: `${uid}-title`, class: 'input', placeholder: 'Shown above the panel (default: its metrics)' })
  const writeTitle = throttle(() => write(PANEL_KEYS.title, title.value), 400)
  title.addEventListener('input', () => writeTitle())
  title.addEventListener('change', () => writeTitle.flush())

  // -- metrics: chips, and a box to add one (suggested from the runs, or typed)
  const metricList = h('ul', { class: 'panel-editor__chips', 'aria-label': 'Chosen metrics' })
  const metricsData = h('datalist', { id: `${uid}-metric-options` })
  const metricInput = h('input', { id: `${uid}-metric`, class: 'input', list: metricsData.id, placeholder: 'loss', autocomplete: 'off' })
  const addMetric = h('button', { type: 'button', class: 'button button--small' }, 'Add')
  const metricHint = h('p', { class: 'panel-editor__hint' })
  const add = () => {
    const value = metricInput.value.trim()
    if (!value) return
    if (!spec.metrics.includes(value)) write(PANEL_KEYS.metrics, [...spec.metrics, value])
    metricInput.value = ''
    metricInput.focus()
  }
  addMetric.addEventListener('click', add)
  metricInput.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      event.preventDefault()
      add()
    }
  })
  // Picking a suggestion from the list adds it at once.
  metricInput.addEventListener('input', (event) => {
    if (!(event instanceof InputEvent) || event.inputType === 'insertReplacementText') {
      if ([...metricsData.options].some((o) => o.value === metricInput.value)) add()
    }
  })
  const metricsRow = h(
    'div',
    { class: 'form-row panel-editor__row', 'data-setting': 'metrics' },
    h('label', { for: metricInput.id }, 'Metrics'),
    metricList,
    h('div', { class: 'panel-editor__add' }, metricInput, addMetric),
    metricsData,
    metricHint,
  )

  // -- x axis
  const axisData = h('datalist', { id: `${uid}-axis-options` })
  const xAxis = h('input', { id: `${uid}-x`, class: 'input', list: axisData.id, placeholder: 'step', autocomplete: 'off' })
  const axisHint = h('p', { class: 'panel-editor__hint' })
  xAxis.addEventListener('change', () => write(PANEL_KEYS.xAxis, xAxis.value.trim() || 'step'))

  // -- smoothing (EMA weight, 0..0.99 as W&B's slider)
  const smoothing = h('input', { id: `${uid}-smoothing`, type: 'range', min: 0, max: 0.99, step: 0.01, value: 0 })
  const smoothingOut = h('output', { class: 'panel-editor__value', for: smoothing.id })
  const writeSmoothing = throttle(() => write(PANEL_KEYS.smoothing, Number(smoothing.value)), 150)
  smoothing.addEventListener('input', () => {
    smoothingOut.textContent = Number(smoothing.value).toFixed(2)
    writeSmoothing()
  })
  smoothing.addEventListener('change', () => writeSmoothing.flush())

  // -- log scale
  const logScale = h('input', { id: `${uid}-log`, type: 'checkbox' })
  logScale.addEventListener('change', () => write(PANEL_KEYS.logScale, logScale.checked))

  // -- group by, aggregate, band
  const groupData = h('datalist', { id: `${uid}-group-options` })
  const groupBy = h('input', { id: `${uid}-group`, class: 'input', list: groupData.id, placeholder: 'none (config.lr to group)', autocomplete: 'off' })
  groupBy.addEventListener('change', () => {
    const value = groupBy.value.trim()
    write(PANEL_KEYS.groupBy, value ? (value.startsWith('config.') ? value : `config.${value}`) : null)
  })
  const aggregate = h('select', { id: `${uid}-aggregate`, class: 'input' }, ...AGGREGATES.map((a) => h('option', { value: a }, a === 'mean' ? 'Mean' : 'Median')))
  aggregate.addEventListener('change', () => write(PANEL_KEYS.aggregate, aggregate.value))
  const band = h('select', { id: `${uid}-band`, class: 'input' }, ...BANDS.map((b) => h('option', { value: b }, BAND_NAMES[b])))
  band.addEventListener('change', () => write(PANEL_KEYS.band, band.value))

  // -- media key, markdown
  const mediaData = h('datalist', { id: `${uid}-media-options` })
  const mediaKey = h('input', { id: `${uid}-media`, class: 'input', list: mediaData.id, placeholder: 'samples', autocomplete: 'off' })
  mediaKey.addEventListener('change', () => write(PANEL_KEYS.mediaKey, mediaKey.value.trim() || null))
  const markdown = h('textarea', { id: `${uid}-markdown`, class: 'input panel-editor__markdown', rows: 8, placeholder: '**Bold**, *italic*, `code`, [links](https://…), # headings, - lists' })
  const writeMarkdown = throttle(() => write(PANEL_KEYS.markdown, markdown.value), 400)
  markdown.addEventListener('input', () => writeMarkdown())
  markdown.addEventListener('change', () => writeMarkdown.flush())

  // -- delete (two clicks), done
  const remove = h('button', { type: 'button', class: 'button button--danger' }, 'Delete panel')
  let armed: number | null = null
  remove.addEventListener('click', () => {
    if (armed === null) {
      remove.textContent = 'Click again to delete'
      armed = window.setTimeout(() => {
        armed = null
        remove.textContent = 'Delete panel'
      }, 4000)
      return
    }
    window.clearTimeout(armed)
    removePanel(doc, gridId, panelId)
    close()
  })
  const done = h('button', { type: 'submit', class: 'button button--primary' }, 'Done')

  const heading = h('h2', { id: `${uid}-heading` }, 'Edit panel')
  const form = h(
    'form',
    { method: 'dialog', class: 'grid-form panel-editor' },
    heading,
    h('div', { class: 'panel-editor__pair' }, row('type', 'Type', type), row('title', 'Title', title)),
    metricsRow,
    row('xAxis', 'X axis', xAxis, axisHint),
    axisData,
    h(
      'div',
      { class: 'panel-editor__pair' },
      h(
        'div',
        { class: 'form-row panel-editor__row', 'data-setting': 'smoothing' },
        h('label', { for: smoothing.id }, 'Smoothing'),
        h('div', { class: 'panel-editor__slider' }, smoothing, smoothingOut),
      ),
      h('div', { class: 'form-row form-row--inline panel-editor__row', 'data-setting': 'logScale' }, logScale, h('label', { for: logScale.id }, 'Log scale (y)')),
    ),
    h('div', { class: 'panel-editor__pair' }, row('groupBy', 'Group by', groupBy), row('aggregate', 'Aggregate', aggregate), row('band', 'Band', band)),
    groupData,
    row('mediaKey', 'Image key', mediaKey),
    mediaData,
    row('markdown', 'Text (Markdown)', markdown),
    h('div', { class: 'panel-editor__footer' }, remove, h('span', { class: 'panel-editor__saved' }, 'Changes are saved as you make them.'), done),
  )
  const dialog = h('dialog', { class: 'dialog panel-editor-dialog', 'aria-labelledby': heading.id }, form)

  /** Show the current settings (leaving alone the control being used). */
  const fill = () => {
    spec = readPanel(panelId, map)
    const idle = (el: HTMLElement) => document.activeElement !== el
    if (idle(type)) type.value = PANEL_TYPES.includes(spec.type as (typeof PANEL_TYPES)[number]) ? spec.type : 'line'
    if (idle(title)) title.value = spec.title
    if (idle(xAxis)) xAxis.value = spec.xAxis
    if (idle(smoothing)) {
      smoothing.value = String(spec.smoothing)
      smoothingOut.textContent = spec.smoothing.toFixed(2)
    }
    logScale.checked = spec.logScale
    if (idle(groupBy)) groupBy.value = spec.groupBy ?? ''
    aggregate.value = spec.aggregate
    band.value = spec.band
    if (idle(mediaKey)) mediaKey.value = spec.mediaKey ?? ''
    if (idle(markdown)) markdown.value = spec.markdown
    metricList.replaceChildren(
      ...spec.metrics.map((metric, i) => {
        const drop = h('button', { type: 'button', class: 'panel-editor__chip-remove', 'aria-label': `Remove ${metric}` }, '×')
        drop.addEventListener('click', () => write(PANEL_KEYS.metrics, spec.metrics.filter((_, j) => j !== i)))
        return h('li', { class: 'panel-editor__chip' }, h('span', {}, metric), drop)
      }),
    )
    if (spec.metrics.length === 0) metricList.append(h('li', { class: 'panel-editor__hint' }, 'None yet.'))
    metricHint.textContent = METRIC_HINTS[spec.type] ?? ''
    axisHint.textContent = AXIS_HINTS[spec.type] ?? ''
    for (const el of form.querySelectorAll<HTMLElement>('[data-setting]')) {
      const uses = USES[el.dataset.setting ?? '']
      el.hidden = uses !== undefined && !uses.includes(spec.type)
    }
    // Without a group, aggregate and band mean nothing (a scalar aggregates across runs anyway).
    aggregate.disabled = !spec.groupBy && spec.type !== 'scalar'
    band.disabled = !spec.groupBy
  }

  let closed = false
  const onPanel = () => fill()
  // Someone else deleted the panel (or its grid): nothing left to edit.
  const onGrid = () => {
    const grid = gridsRoot(doc).get(gridId)
    const ids = grid instanceof Y.Map ? grid.get('panelIds') : null
    if (!(ids instanceof Y.Array) || !ids.toArray().includes(panelId)) close()
  }
  map.observe(onPanel)
  gridsRoot(doc).observeDeep(onGrid)

  function close(): void {
    if (closed) return
    closed = true
    writeTitle.flush()
    writeSmoothing.flush()
    writeMarkdown.flush()
    map.unobserve(onPanel)
    gridsRoot(doc).unobserveDeep(onGrid)
    if (armed !== null) window.clearTimeout(armed)
    if (dialog.open) dialog.close()
    dialog.remove()
    if (openDialog?.panelId === panelId) openDialog = null
  }
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    close()
  })
  dialog.addEventListener('cancel', (event) => {
    event.preventDefault()
    close()
  })

  fill()
  document.body.append(dialog)
  dialog.showModal()
  openDialog = { panelId, close }
  type.focus()

  const options_ = (list: HTMLDataListElement, values: readonly string[]) => list.replaceChildren(...values.map((v) => h('option', { value: v })))
  void options.suggestions.discover().then(
    ({ metrics, configKeys }) => {
      options_(metricsData, metrics)
      options_(axisData, ['step', ...metrics, ...configKeys])
      options_(groupData, configKeys)
    },
    () => undefined,
  )
  void options.suggestions.mediaKeys().then(
    (keys) => options_(mediaData, keys),
    () => undefined,
  )
  return close
}
