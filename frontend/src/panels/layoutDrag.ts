/**
 * Moving and resizing a panel with the pointer: the card snaps from cell to
 * cell while the others make room (a preview, local only); letting go writes
 * the new layouts, Escape puts everything back.
 */

import { dragTarget, moveItem, sameRect, type DragMode, type Rect } from './layout'

export interface DragHost {
  /** The element that is the CSS grid. */
  grid: HTMLElement
  columns: number
  /** Every panel's current cell. */
  rects: ReadonlyMap<string, Rect>
  /** Show these cells while dragging (null: back to the stored ones). */
  preview(rects: ReadonlyMap<string, Rect> | null): void
  commit(rects: ReadonlyMap<string, Rect>): void
}

/** Width of a column and height of a row of `grid`, gaps included. */
export function cellPitch(grid: HTMLElement, columns: number): { col: number; row: number } {
  const style = getComputedStyle(grid)
  const colGap = parseFloat(style.columnGap) || 0
  const rowGap = parseFloat(style.rowGap) || 0
  const row = parseFloat(style.gridAutoRows) || 40
  return { col: (grid.clientWidth + colGap) / columns, row: row + rowGap }
}

/** Follow the pointer from `event` (a pointerdown on a handle) until it is released. */
export function beginDrag(host: DragHost, id: string, mode: DragMode, event: PointerEvent): void {
  const start = host.rects.get(id)
  if (!start || event.button !== 0) return
  event.preventDefault()
  event.stopPropagation()
  const handle = event.currentTarget as HTMLElement
  handle.setPointerCapture(event.pointerId)
  const pitch = cellPitch(host.grid, host.columns)
  const card = handle.closest<HTMLElement>('.panel')
  card?.classList.add('panel--dragging')
  host.grid.classList.add('panel-grid__panels--dragging')
  let target = start
  let next: Map<string, Rect> = new Map(host.rects)

  const move = (e: PointerEvent) => {
    if (e.pointerId !== event.pointerId) return
    const dCols = Math.round((e.clientX - event.clientX) / pitch.col)
    const dRows = Math.round((e.clientY - event.clientY) / pitch.row)
    const aim = dragTarget(start, dCols, dRows, mode, host.columns)
    if (sameRect(aim, target)) return
    target = aim
    next = moveItem(host.rects, id, aim, host.columns)
    host.preview(next)
  }
  const finish = (commit: boolean) => {
    handle.removeEventListener('pointermove', move)
    handle.removeEventListener('pointerup', up)
    handle.removeEventListener('pointercancel', cancel)
    handle.removeEventListener('lostpointercapture', cancel)
    window.removeEventListener('keydown', escape, true)
    card?.classList.remove('panel--dragging')
    host.grid.classList.remove('panel-grid__panels--dragging')
    host.preview(null)
    if (commit && !sameRect(target, start)) host.commit(next)
  }
  const up = (e: PointerEvent) => {
    if (e.pointerId === event.pointerId) finish(true)
  }
  const cancel = () => finish(false)
  const escape = (e: KeyboardEvent) => {
    if (e.key !== 'Escape') return
    e.preventDefault()
    e.stopPropagation()
    finish(false)
  }
  handle.addEventListener('pointermove', move)
  handle.addEventListener('pointerup', up)
  handle.addEventListener('pointercancel', cancel)
  handle.addEventListener('lostpointercapture', cancel)
  window.addEventListener('keydown', escape, true)
}

/** Arrow keys on the handle: one cell at a time, written at once. */
export function nudge(host: DragHost, id: string, mode: DragMode, dCols: number, dRows: number): void {
  const start = host.rects.get(id)
  if (!start) return
  const aim = dragTarget(start, dCols, dRows, mode, host.columns)
  if (!sameRect(aim, start)) host.commit(moveItem(host.rects, id, aim, host.columns))
}
