/**
 * Reading and writing a report's `grids`, `panels` and `runsets` maps
 * (docs/document-schema.md, "Grids, panels and run sets"). Settings are single
 * keys so concurrent edits of different settings merge.
 */

import * as Y from 'yjs'

import { randomId } from '../comments/model'
import { AGGREGATES, BANDS, type Aggregate, type Band } from './aggregate'
import type { Rect } from './layout'

export const PANEL_TYPES = ['line', 'bar', 'scalar', 'scatter', 'run_table', 'media', 'markdown'] as const
export type PanelType = (typeof PANEL_TYPES)[number]

export const PANEL_TYPE_NAMES: Record<PanelType, string> = {
  line: 'Line plot',
  bar: 'Bar chart',
  scalar: 'Scalar',
  scatter: 'Scatter plot',
  run_table: 'Run table',
  media: 'Media',
  markdown: 'Markdown',
}

export const DEFAULT_COLUMNS = 24

export interface RunsetSpec {
  id: string
  name: string
  project: string
  filters: string[]
  runIds: string[]
  frozen: boolean
}

export interface PanelSpec {
  id: string
  type: string
  title: string
  metrics: string[]
  xAxis: string
  smoothing: number
  logScale: boolean
  groupBy: string | null
  aggregate: Aggregate
  band: Band
  mediaKey: string | null
  markdown: string
  /** Where its editor put it; null: the grid places it. */
  layout: Rect | null
}

export interface GridSpec {
  id: string
  columns: number
  runsets: RunsetSpec[]
  panels: PanelSpec[]
}

/** The keys of a panel's map, as the document names them. */
export const PANEL_KEYS = {
  type: 'type',
  title: 'title',
  metrics: 'metrics',
  xAxis: 'x_axis',
  smoothing: 'smoothing',
  logScale: 'log_scale',
  groupBy: 'group_by',
  aggregate: 'aggregate',
  band: 'band',
  mediaKey: 'media_key',
  markdown: 'markdown',
  layout: 'layout',
} as const satisfies Record<Exclude<keyof PanelSpec, 'id'>, string>

export const RUNSET_KEYS = { name: 'name', project: 'project', filters: 'filters', runIds: 'run_ids', frozen: 'frozen' } as const

const str = (v: unknown, fallback = ''): string => (typeof v === 'string' ? v : fallback)
const strings = (v: unknown): string[] => {
  const list = v instanceof Y.Array ? v.toArray() : v
  return Array.isArray(list) ? list.filter((x): x is string => typeof x === 'string') : []
}
const plain = (v: unknown): unknown => (v instanceof Y.AbstractType ? (v.toJSON() as unknown) : v)
const oneOf = <T extends string>(v: unknown, allowed: readonly T[], fallback: T): T => (allowed.includes(v as T) ? (v as T) : fallback)

export function panelsRoot(doc: Y.Doc): Y.Map<Y.Map<unknown>> {
  return doc.getMap('panels')
}

export function gridsRoot(doc: Y.Doc): Y.Map<Y.Map<unknown>> {
  return doc.getMap('grids')
}

export function runsetsRoot(doc: Y.Doc): Y.Map<Y.Map<unknown>> {
  return doc.getMap('runsets')
}

function readLayout(value: unknown): Rect | null {
  const v = plain(value)
  if (v === null || typeof v !== 'object') return null
  const { x, y, w, h } = v as Record<string, unknown>
  const n = (a: unknown, min: number) => (typeof a === 'number' && Number.isFinite(a) ? Math.max(min, Math.round(a)) : null)
  const rect = { x: n(x, 0) ?? 0, y: n(y, 0) ?? 0, w: n(w, 1), h: n(h, 1) }
  // The Report API's defaults (blocks.PanelLayout) for a partial layout.
  return { x: rect.x, y: rect.y, w: rect.w ?? 8, h: rect.h ?? 6 }
}

export function readPanel(id: string, m: Y.Map<unknown>): PanelSpec {
  const smoothing = m.get(PANEL_KEYS.smoothing)
  const groupBy = m.get(PANEL_KEYS.groupBy)
  const mediaKey = m.get(PANEL_KEYS.mediaKey)
  return {
    id,
    type: str(m.get(PANEL_KEYS.type), 'line'),
    title: str(m.get(PANEL_KEYS.title)),
    metrics: strings(m.get(PANEL_KEYS.metrics)),
    xAxis: str(m.get(PANEL_KEYS.xAxis), 'step') || 'step',
    smoothing: typeof smoothing === 'number' && Number.isFinite(smoothing) ? Math.min(1, Math.max(0, smoothing)) : 0,
    logScale: m.get(PANEL_KEYS.logScale) === true,
    groupBy: typeof groupBy === 'string' && groupBy ? groupBy : null,
    aggregate: oneOf(m.get(PANEL_KEYS.aggregate), AGGREGATES, 'mean'),
    band: oneOf(m.get(PANEL_KEYS.band), BANDS, 'min_max'),
    mediaKey: typeof mediaKey === 'string' && mediaKey ? mediaKey : null,
    markdown: str(m.get(PANEL_KEYS.markdown)),
    layout: readLayout(m.get(PANEL_KEYS.layout)),
  }
}

export function readRunset(id: string, m: Y.Map<unknown>): RunsetSpec {
  return {
    id,
    name: str(m.get(RUNSET_KEYS.name), 'Runs'),
    project: str(m.get(RUNSET_KEYS.project)),
    filters: strings(m.get(RUNSET_KEYS.filters)),
    runIds: strings(m.get(RUNSET_KEYS.runIds)),
    frozen: m.get(RUNSET_KEYS.frozen) === true,
  }
}

/** The grid's own map: ids of its run sets and panels, in order, and its column count. */
export function readGridShape(doc: Y.Doc, gridId: string): { runsetIds: string[]; panelIds: string[]; columns: number } | null {
  const grid = gridsRoot(doc).get(gridId)
  if (!(grid instanceof Y.Map)) return null
  const layout = plain(grid.get('layout'))
  const columns = layout && typeof layout === 'object' ? (layout as { columns?: unknown }).columns : undefined
  return {
    runsetIds: strings(grid.get('runsetIds')),
    panelIds: strings(grid.get('panelIds')),
    columns: typeof columns === 'number' && columns >= 1 ? Math.min(48, Math.round(columns)) : DEFAULT_COLUMNS,
  }
}

export function readGrid(doc: Y.Doc, gridId: string): GridSpec | null {
  const shape = readGridShape(doc, gridId)
  if (!shape) return null
  const runsets: RunsetSpec[] = []
  for (const id of shape.runsetIds) {
    const m = runsetsRoot(doc).get(id)
    if (m instanceof Y.Map) runsets.push(readRunset(id, m))
  }
  const panels: PanelSpec[] = []
  for (const id of shape.panelIds) {
    const m = panelsRoot(doc).get(id)
    if (m instanceof Y.Map) panels.push(readPanel(id, m))
  }
  return { id: gridId, columns: shape.columns, runsets, panels }
}

// -- writing: one key per setting ---------------------------------------------------

type PanelValue = string | number | boolean | string[] | Rect | null

/** Set one setting of a panel (null removes the key: absent means unset). No-op if unchanged. */
export function setPanelKey(doc: Y.Doc, panelId: string, key: string, value: PanelValue): void {
  const panel = panelsRoot(doc).get(panelId)
  if (!(panel instanceof Y.Map)) return
  const current = plain(panel.get(key))
  if (value === null) {
    if (panel.has(key)) panel.delete(key)
    return
  }
  if (JSON.stringify(current) === JSON.stringify(value)) return
  panel.set(key, Array.isArray(value) ? [...value] : typeof value === 'object' ? { ...value } : value)
}

/** Write several panels' layouts at once (a drag moves the panels in its way too). */
export function writeLayouts(doc: Y.Doc, layouts: ReadonlyMap<string, Rect>): void {
  if (layouts.size === 0) return
  doc.transact(() => {
    for (const [id, rect] of layouts) setPanelKey(doc, id, PANEL_KEYS.layout, { x: rect.x, y: rect.y, w: rect.w, h: rect.h })
  })
}

export interface NewPanel {
  type: PanelType
  title?: string
  metrics?: string[]
  layout?: Rect
}

function panelMap(input: NewPanel): Y.Map<unknown> {
  const panel = new Y.Map<unknown>()
  panel.set(PANEL_KEYS.type, input.type)
  panel.set(PANEL_KEYS.title, input.title ?? '')
  panel.set(PANEL_KEYS.metrics, input.metrics ?? [])
  panel.set(PANEL_KEYS.xAxis, 'step')
  if (input.layout) panel.set(PANEL_KEYS.layout, { ...input.layout })
  return panel
}

/** Add a panel at the end of a grid; returns its id. */
export function addPanel(doc: Y.Doc, gridId: string, input: NewPanel, newId: () => string = () => randomId()): string | null {
  const grid = gridsRoot(doc).get(gridId)
  const ids = grid instanceof Y.Map ? grid.get('panelIds') : null
  if (!(ids instanceof Y.Array)) return null
  const id = newId()
  doc.transact(() => {
    panelsRoot(doc).set(id, panelMap(input))
    ids.push([id])
  })
  return id
}

/**
 * Take a panel out of its grid. Its map stays in `panels` (as a removed grid's
 * do): comment threads on it still name it, and a concurrent edit of one of its
 * settings has somewhere to land.
 */
export function removePanel(doc: Y.Doc, gridId: string, panelId: string): void {
  const grid = gridsRoot(doc).get(gridId)
  const ids = grid instanceof Y.Map ? grid.get('panelIds') : null
  if (!(ids instanceof Y.Array)) return
  doc.transact(() => {
    // From the end: every copy goes, and earlier indices stay valid.
    for (let i = ids.length - 1; i >= 0; i--) if (ids.get(i) === panelId) ids.delete(i, 1)
  })
}

/** Set one setting of a run set. */
export function setRunsetKey(doc: Y.Doc, runsetId: string, key: string, value: string | boolean | string[]): void {
  const runset = runsetsRoot(doc).get(runsetId)
  if (!(runset instanceof Y.Map)) return
  if (JSON.stringify(plain(runset.get(key))) === JSON.stringify(value)) return
  runset.set(key, Array.isArray(value) ? [...value] : value)
}

function runsetMap(project: string, filters: string[]): Y.Map<unknown> {
  const runset = new Y.Map<unknown>()
  runset.set(RUNSET_KEYS.name, project || 'Runs')
  runset.set(RUNSET_KEYS.project, project)
  runset.set(RUNSET_KEYS.filters, filters)
  runset.set(RUNSET_KEYS.runIds, [])
  runset.set(RUNSET_KEYS.frozen, false)
  return runset
}

/** Add a run set to a grid; returns its id. */
export function addRunset(doc: Y.Doc, gridId: string, project: string, newId: () => string = () => randomId()): string | null {
  const grid = gridsRoot(doc).get(gridId)
  const ids = grid instanceof Y.Map ? grid.get('runsetIds') : null
  if (!(ids instanceof Y.Array)) return null
  const id = newId()
  doc.transact(() => {
    runsetsRoot(doc).set(id, runsetMap(project, []))
    ids.push([id])
  })
  return id
}

/** Take a run set out of its grid (its map stays, as a removed panel's does). */
export function removeRunset(doc: Y.Doc, gridId: string, runsetId: string): void {
  const grid = gridsRoot(doc).get(gridId)
  const ids = grid instanceof Y.Map ? grid.get('runsetIds') : null
  if (!(ids instanceof Y.Array)) return
  doc.transact(() => {
    for (let i = ids.length - 1; i >= 0; i--) if (ids.get(i) === runsetId) ids.delete(i, 1)
  })
}

export interface NewGrid {
  project: string
  filters: string[]
  metric: string
  withRunTable: boolean
}

/** Create a grid with one run set and a line panel (and optionally a run table); returns its id. */
export function createGrid(doc: Y.Doc, input: NewGrid, newId: () => string = () => randomId()): string {
  const gridId = newId()
  doc.transact(() => {
    const runsetId = newId()
    runsetsRoot(doc).set(runsetId, runsetMap(input.project, input.filters))

    const panelIds: string[] = []
    const lineId = newId()
    panelsRoot(doc).set(lineId, panelMap({ type: 'line', title: input.metric, metrics: [input.metric] }))
    panelIds.push(lineId)
    if (input.withRunTable) {
      const table = new Y.Map<unknown>()
      table.set(PANEL_KEYS.type, 'run_table')
      table.set(PANEL_KEYS.title, 'Runs')
      table.set(PANEL_KEYS.metrics, [input.metric])
      const tableId = newId()
      panelsRoot(doc).set(tableId, table)
      panelIds.push(tableId)
    }

    const grid = new Y.Map<unknown>()
    const runsetIds = new Y.Array<string>()
    runsetIds.push([runsetId])
    const panelList = new Y.Array<string>()
    panelList.push(panelIds)
    grid.set('runsetIds', runsetIds)
    grid.set('panelIds', panelList)
    grid.set('layout', { columns: DEFAULT_COLUMNS })
    gridsRoot(doc).set(gridId, grid)
  })
  return gridId
}
