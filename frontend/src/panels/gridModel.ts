/**
 * Reading and writing a report's `grids`, `panels` and `runsets` maps
 * (docs/document-schema.md, "Grids, panels and run sets"). Settings are single
 * keys so concurrent edits of different settings merge.
 */

import * as Y from 'yjs'

import { randomId } from '../comments/model'

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
  smoothing: number
  logScale: boolean
}

export interface GridSpec {
  id: string
  runsets: RunsetSpec[]
  panels: PanelSpec[]
}

const str = (v: unknown, fallback = ''): string => (typeof v === 'string' ? v : fallback)
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [])
const ids = (v: unknown): string[] => (v instanceof Y.Array ? strings(v.toArray()) : strings(v))

export function readGrid(doc: Y.Doc, gridId: string): GridSpec | null {
  const grid = doc.getMap<Y.Map<unknown>>('grids').get(gridId)
  if (!(grid instanceof Y.Map)) return null
  const runsetMaps = doc.getMap<Y.Map<unknown>>('runsets')
  const panelMaps = doc.getMap<Y.Map<unknown>>('panels')
  const runsets: RunsetSpec[] = []
  for (const id of ids(grid.get('runsetIds'))) {
    const m = runsetMaps.get(id)
    if (!(m instanceof Y.Map)) continue
    runsets.push({
      id,
      name: str(m.get('name'), 'Runs'),
      project: str(m.get('project')),
      filters: strings(m.get('filters')),
      runIds: strings(m.get('run_ids')),
      frozen: m.get('frozen') === true,
    })
  }
  const panels: PanelSpec[] = []
  for (const id of ids(grid.get('panelIds'))) {
    const m = panelMaps.get(id)
    if (!(m instanceof Y.Map)) continue
    const smoothing = m.get('smoothing')
    panels.push({
      id,
      type: str(m.get('type'), 'line'),
      title: str(m.get('title')),
      metrics: strings(m.get('metrics')),
      smoothing: typeof smoothing === 'number' ? smoothing : 0,
      logScale: m.get('log_scale') === true,
    })
  }
  return { id: gridId, runsets, panels }
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
    const runset = new Y.Map<unknown>()
    runset.set('name', input.project)
    runset.set('project', input.project)
    runset.set('filters', input.filters)
    runset.set('run_ids', [])
    runset.set('frozen', false)
    doc.getMap('runsets').set(runsetId, runset)

    const panelIds: string[] = []
    const line = new Y.Map<unknown>()
    line.set('type', 'line')
    line.set('title', input.metric)
    line.set('metrics', [input.metric])
    line.set('x_axis', 'step')
    const lineId = newId()
    doc.getMap('panels').set(lineId, line)
    panelIds.push(lineId)
    if (input.withRunTable) {
      const table = new Y.Map<unknown>()
      table.set('type', 'run_table')
      table.set('title', 'Runs')
      table.set('metrics', [input.metric])
      const tableId = newId()
      doc.getMap('panels').set(tableId, table)
      panelIds.push(tableId)
    }

    const grid = new Y.Map<unknown>()
    const runsetIds = new Y.Array<string>()
    runsetIds.push([runsetId])
    const panelList = new Y.Array<string>()
    panelList.push(panelIds)
    grid.set('runsetIds', runsetIds)
    grid.set('panelIds', panelList)
    grid.set('layout', { columns: 24 })
    doc.getMap('grids').set(gridId, grid)
  })
  return gridId
}
