import { describe, expect, it } from 'vitest'

import { clampRect, compact, defaultSize, dragTarget, layoutChanges, moveItem, overlaps, resolveLayout, type LayoutItem, type Rect } from '../src/panels/layout'

const item = (id: string, layout: Rect | null, type = 'line'): LayoutItem => ({ id, type, layout })

function noOverlaps(rects: Map<string, Rect>): boolean {
  const all = [...rects.values()]
  return all.every((a, i) => all.every((b, j) => i === j || !overlaps(a, b)))
}

describe('resolveLayout', () => {
  it('keeps stored layouts that do not overlap', () => {
    const rects = resolveLayout([item('a', { x: 0, y: 0, w: 12, h: 6 }), item('b', { x: 12, y: 0, w: 12, h: 6 })], 24)
    expect(rects.get('a')).toEqual({ x: 0, y: 0, w: 12, h: 6 })
    expect(rects.get('b')).toEqual({ x: 12, y: 0, w: 12, h: 6 })
  })

  it('places panels without a layout in list order, filling rows left to right', () => {
    const rects = resolveLayout([item('line', null), item('table', null, 'run_table'), item('bar', null, 'bar')], 24)
    expect(rects.get('line')).toEqual({ x: 0, y: 0, ...defaultSize('line', 24) })
    // A full-width table does not fit beside the line plot: next free row.
    expect(rects.get('table')).toEqual({ x: 0, y: 7, w: 24, h: 5 })
    expect(rects.get('bar')).toEqual({ x: 0, y: 12, w: 12, h: 7 })
  })

  it('puts unplaced panels after placed ones without covering them', () => {
    const rects = resolveLayout([item('new', null), item('placed', { x: 0, y: 0, w: 16, h: 4 })], 24)
    expect(rects.get('placed')).toEqual({ x: 0, y: 0, w: 16, h: 4 })
    expect(rects.get('new')).toEqual({ x: 0, y: 4, w: 12, h: 7 })
    expect(noOverlaps(rects)).toBe(true)
  })

  it('pushes an overlapping panel down, the earlier in reading order keeping its place', () => {
    const rects = resolveLayout([item('b', { x: 4, y: 2, w: 8, h: 4 }), item('a', { x: 0, y: 0, w: 8, h: 4 })], 24)
    expect(rects.get('a')).toEqual({ x: 0, y: 0, w: 8, h: 4 })
    expect(rects.get('b')).toEqual({ x: 4, y: 4, w: 8, h: 4 })
  })

  it('resolves identical layouts (two concurrent moves) the same way everywhere, by list order', () => {
    const same = { x: 0, y: 0, w: 12, h: 6 }
    const rects = resolveLayout([item('first', same), item('second', same)], 24)
    expect(rects.get('first')).toEqual(same)
    expect(rects.get('second')).toEqual({ ...same, y: 6 })
  })

  it('closes holes: panels float up into free space', () => {
    const rects = resolveLayout([item('a', { x: 0, y: 10, w: 12, h: 6 }), item('b', { x: 0, y: 30, w: 24, h: 2 }), item('c', { x: 12, y: 3, w: 12, h: 2 })], 24)
    expect(rects.get('a')).toEqual({ x: 0, y: 0, w: 12, h: 6 })
    expect(rects.get('c')).toEqual({ x: 12, y: 0, w: 12, h: 2 })
    expect(rects.get('b')).toEqual({ x: 0, y: 6, w: 24, h: 2 })
  })

  it('compacts without reordering panels that sit in one column', () => {
    const rects = new Map([
      ['top', { x: 0, y: 2, w: 6, h: 2 }],
      ['below', { x: 0, y: 9, w: 6, h: 3 }],
    ])
    expect(compact(rects)).toEqual(
      new Map([
        ['top', { x: 0, y: 0, w: 6, h: 2 }],
        ['below', { x: 0, y: 2, w: 6, h: 3 }],
      ]),
    )
  })

  it('clamps layouts wider than the grid or out of range', () => {
    expect(clampRect({ x: 30, y: -2, w: 40, h: 0 }, 24)).toEqual({ x: 0, y: 0, w: 24, h: 1 })
    expect(clampRect({ x: 20, y: 1.6, w: 8, h: 500 }, 24)).toEqual({ x: 16, y: 2, w: 8, h: 40 })
    const rects = resolveLayout([item('a', { x: 20, y: 0, w: 10, h: 3 })], 12)
    expect(rects.get('a')).toEqual({ x: 2, y: 0, w: 10, h: 3 })
  })

  it('places fifty panels without overlaps', () => {
    const items = Array.from({ length: 50 }, (_, i) => item(`p${i}`, i % 3 === 0 ? { x: (i * 5) % 20, y: i, w: 6, h: 5 } : null, i % 2 ? 'scalar' : 'line'))
    const rects = resolveLayout(items, 24)
    expect(rects.size).toBe(50)
    expect(noOverlaps(rects)).toBe(true)
  })
})

describe('moveItem', () => {
  const start = new Map<string, Rect>([
    ['a', { x: 0, y: 0, w: 12, h: 6 }],
    ['b', { x: 12, y: 0, w: 12, h: 6 }],
    ['c', { x: 0, y: 6, w: 24, h: 4 }],
  ])

  it('moves the panel and pushes the ones in its way down, in cascade', () => {
    const next = moveItem(start, 'a', { x: 6, y: 0, w: 12, h: 6 }, 24)
    expect(next.get('a')).toEqual({ x: 6, y: 0, w: 12, h: 6 })
    expect(next.get('b')).toEqual({ x: 12, y: 6, w: 12, h: 6 })
    expect(next.get('c')).toEqual({ x: 0, y: 12, w: 24, h: 4 })
    expect(noOverlaps(next)).toBe(true)
    expect([...next.keys()]).toEqual(['a', 'b', 'c'])
  })

  it('leaves panels that are not in the way alone, and floats a panel dropped below free space up', () => {
    const next = moveItem(start, 'c', { x: 0, y: 20, w: 24, h: 4 }, 24)
    expect(next.get('a')).toEqual(start.get('a'))
    expect(next.get('b')).toEqual(start.get('b'))
    expect(next.get('c')).toEqual({ x: 0, y: 6, w: 24, h: 4 })
  })

  it('lets panels that were pushed down come back up when the one in their way leaves', () => {
    const pushed = moveItem(start, 'a', { x: 6, y: 0, w: 12, h: 6 }, 24)
    const back = moveItem(pushed, 'a', { x: 0, y: 0, w: 12, h: 6 }, 24)
    expect(back).toEqual(start)
  })

  it('keeps a resized panel inside the grid', () => {
    const next = moveItem(start, 'b', { x: 12, y: 0, w: 30, h: 6 }, 24)
    expect(next.get('b')).toEqual({ x: 0, y: 0, w: 24, h: 6 })
    expect(noOverlaps(next)).toBe(true)
  })
})

describe('dragTarget', () => {
  const rect = { x: 4, y: 2, w: 8, h: 6 }

  it('moves by whole cells, staying in the grid', () => {
    expect(dragTarget(rect, 3, -1, 'move', 24)).toEqual({ x: 7, y: 1, w: 8, h: 6 })
    expect(dragTarget(rect, -10, -10, 'move', 24)).toEqual({ x: 0, y: 0, w: 8, h: 6 })
    expect(dragTarget(rect, 40, 0, 'move', 24)).toEqual({ x: 16, y: 2, w: 8, h: 6 })
  })

  it('resizes from the bottom right corner, never below one cell or past the right edge', () => {
    expect(dragTarget(rect, 2, 3, 'resize', 24)).toEqual({ x: 4, y: 2, w: 10, h: 9 })
    expect(dragTarget(rect, -20, -20, 'resize', 24)).toEqual({ x: 4, y: 2, w: 1, h: 1 })
    expect(dragTarget(rect, 40, 0, 'resize', 24)).toEqual({ x: 4, y: 2, w: 20, h: 6 })
  })
})

describe('layoutChanges', () => {
  it('lists only the layouts that differ from what is stored (unplaced panels included)', () => {
    const items = [item('a', { x: 0, y: 0, w: 12, h: 6 }), item('b', null), item('c', { x: 0, y: 6, w: 4, h: 4 })]
    const next = new Map<string, Rect>([
      ['a', { x: 0, y: 0, w: 12, h: 6 }],
      ['b', { x: 12, y: 0, w: 12, h: 7 }],
      ['c', { x: 0, y: 7, w: 4, h: 4 }],
    ])
    expect(layoutChanges(items, next)).toEqual(
      new Map([
        ['b', { x: 12, y: 0, w: 12, h: 7 }],
        ['c', { x: 0, y: 7, w: 4, h: 4 }],
      ]),
    )
  })
})
