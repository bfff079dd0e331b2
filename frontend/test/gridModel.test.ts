import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'

import {
  addPanel,
  addRunset,
  createGrid,
  readGrid,
  removePanel,
  removeRunset,
  setPanelKey,
  setRunsetKey,
  writeLayouts,
} from '../src/panels/gridModel'

describe('panel grid maps', () => {
  it('create a grid, its run set and panels in the documented layout', () => {
    const doc = new Y.Doc()
    let n = 0
    const gridId = createGrid(doc, { project: 'mnist', filters: ['tag=baseline'], metric: 'loss', withRunTable: true }, () => `id${n++}`)
    const grid = doc.getMap<Y.Map<unknown>>('grids').get(gridId)!
    expect(grid.get('runsetIds')).toBeInstanceOf(Y.Array)
    expect(grid.get('panelIds')).toBeInstanceOf(Y.Array)
    expect(grid.toJSON()).toEqual({ runsetIds: ['id1'], panelIds: ['id2', 'id3'], layout: { columns: 24 } })
    expect(doc.getMap('runsets').toJSON()).toEqual({
      id1: { name: 'mnist', project: 'mnist', filters: ['tag=baseline'], run_ids: [], frozen: false },
    })
    expect(doc.getMap('panels').toJSON()).toEqual({
      id2: { type: 'line', title: 'loss', metrics: ['loss'], x_axis: 'step' },
      id3: { type: 'run_table', title: 'Runs', metrics: ['loss'] },
    })
  })

  it('read a grid back, skipping ids whose maps are missing', () => {
    const doc = new Y.Doc()
    const gridId = createGrid(doc, { project: 'p', filters: [], metric: 'acc', withRunTable: false })
    const grid = doc.getMap<Y.Map<unknown>>('grids').get(gridId)!
    ;(grid.get('panelIds') as Y.Array<string>).push(['gone'])
    const spec = readGrid(doc, gridId)!
    expect(spec.runsets.map((r) => [r.project, r.frozen])).toEqual([['p', false]])
    expect(spec.panels.map((p) => [p.type, p.metrics, p.smoothing, p.logScale])).toEqual([['line', ['acc'], 0, false]])
    expect(readGrid(doc, 'unknown')).toBeNull()
  })

  it('reads every panel setting, with the documented defaults for absent keys', () => {
    const doc = new Y.Doc()
    const gridId = createGrid(doc, { project: 'p', filters: [], metric: 'loss', withRunTable: false }, (() => {
      let n = 0
      return () => `id${n++}`
    })())
    const panel = doc.getMap<Y.Map<unknown>>('panels').get('id2')!
    expect(readGrid(doc, gridId)!.panels[0]).toEqual({
      id: 'id2',
      type: 'line',
      title: 'loss',
      metrics: ['loss'],
      xAxis: 'step',
      smoothing: 0,
      logScale: false,
      groupBy: null,
      aggregate: 'mean',
      band: 'min_max',
      mediaKey: null,
      markdown: '',
      layout: null,
    })
    doc.transact(() => {
      panel.set('smoothing', 0.8)
      panel.set('group_by', 'config.lr')
      panel.set('aggregate', 'median')
      panel.set('band', 'bogus')
      panel.set('layout', { x: 2, y: 3.0, w: 6 })
    })
    const spec = readGrid(doc, gridId)!.panels[0]
    expect([spec.smoothing, spec.groupBy, spec.aggregate, spec.band]).toEqual([0.8, 'config.lr', 'median', 'min_max'])
    // A partial layout gets the Report API's defaults.
    expect(spec.layout).toEqual({ x: 2, y: 3, w: 6, h: 6 })
    expect(readGrid(doc, gridId)!.columns).toBe(24)
  })

  it('write one key per setting, so concurrent edits of different settings merge', () => {
    const ada = new Y.Doc()
    const gridId = createGrid(ada, { project: 'p', filters: [], metric: 'loss', withRunTable: false })
    const grace = new Y.Doc()
    Y.applyUpdate(grace, Y.encodeStateAsUpdate(ada))
    const panelId = readGrid(ada, gridId)!.panels[0].id

    setPanelKey(ada, panelId, 'smoothing', 0.6)
    setPanelKey(grace, panelId, 'type', 'bar')
    setPanelKey(grace, panelId, 'metrics', ['acc'])
    Y.applyUpdate(grace, Y.encodeStateAsUpdate(ada))
    Y.applyUpdate(ada, Y.encodeStateAsUpdate(grace))
    for (const doc of [ada, grace]) {
      const spec = readGrid(doc, gridId)!.panels[0]
      expect([spec.type, spec.smoothing, spec.metrics]).toEqual(['bar', 0.6, ['acc']])
    }
  })

  it('remove a key for null and write nothing when a value is unchanged', () => {
    const doc = new Y.Doc()
    const gridId = createGrid(doc, { project: 'p', filters: [], metric: 'loss', withRunTable: false })
    const panelId = readGrid(doc, gridId)!.panels[0].id
    setPanelKey(doc, panelId, 'group_by', 'config.lr')
    let updates = 0
    doc.on('update', () => updates++)
    setPanelKey(doc, panelId, 'group_by', 'config.lr')
    setPanelKey(doc, panelId, 'metrics', ['loss'])
    expect(updates).toBe(0)
    setPanelKey(doc, panelId, 'group_by', null)
    expect(doc.getMap<Y.Map<unknown>>('panels').get(panelId)!.has('group_by')).toBe(false)
    expect(updates).toBe(1)
  })

  it('add and remove panels and run sets, leaving removed maps in place', () => {
    const doc = new Y.Doc()
    const gridId = createGrid(doc, { project: 'p', filters: [], metric: 'loss', withRunTable: false })
    const added = addPanel(doc, gridId, { type: 'markdown', title: 'Notes' })!
    expect(readGrid(doc, gridId)!.panels.map((p) => [p.type, p.title])).toEqual([
      ['line', 'loss'],
      ['markdown', 'Notes'],
    ])
    removePanel(doc, gridId, added)
    expect(readGrid(doc, gridId)!.panels.map((p) => p.type)).toEqual(['line'])
    expect(doc.getMap('panels').has(added)).toBe(true)

    const runsetId = addRunset(doc, gridId, 'q')!
    setRunsetKey(doc, runsetId, 'frozen', true)
    setRunsetKey(doc, runsetId, 'filters', ['tag=a'])
    expect(readGrid(doc, gridId)!.runsets.map((r) => [r.project, r.frozen, r.filters])).toEqual([
      ['p', false, []],
      ['q', true, ['tag=a']],
    ])
    removeRunset(doc, gridId, runsetId)
    expect(readGrid(doc, gridId)!.runsets.map((r) => r.project)).toEqual(['p'])
  })

  it('write several layouts in one transaction', () => {
    const doc = new Y.Doc()
    const gridId = createGrid(doc, { project: 'p', filters: [], metric: 'loss', withRunTable: true })
    const [a, b] = readGrid(doc, gridId)!.panels.map((p) => p.id)
    let updates = 0
    doc.on('update', () => updates++)
    writeLayouts(
      doc,
      new Map([
        [a, { x: 0, y: 0, w: 12, h: 7 }],
        [b, { x: 12, y: 0, w: 12, h: 5 }],
      ]),
    )
    expect(updates).toBe(1)
    expect(readGrid(doc, gridId)!.panels.map((p) => p.layout)).toEqual([
      { x: 0, y: 0, w: 12, h: 7 },
      { x: 12, y: 0, w: 12, h: 5 },
    ])
  })
})
