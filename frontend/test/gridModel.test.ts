import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'

import { createGrid, readGrid } from '../src/panels/gridModel'

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
})
