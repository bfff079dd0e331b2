/**
 * Where panels sit in a grid of `columns` columns and fixed-height rows, free
 * of the DOM. A panel's stored `layout` ({x, y, w, h}) is where its editor put
 * it; panels without one are placed here, after the others, in list order.
 * Overlaps (two people moving panels at once, or a script's layouts) are
 * resolved the same way in every browser, so everyone sees one arrangement.
 */

export interface Rect {
  x: number
  y: number
  w: number
  h: number
}

export interface LayoutItem {
  id: string
  type: string
  layout: Rect | null
}

/** Tallest panel, in rows (a typo in a script should not make a kilometre-high card). */
export const MAX_ROWS = 40

/** The size a new or unplaced panel of `type` gets. */
export function defaultSize(type: string, columns: number): { w: number; h: number } {
  const half = Math.max(1, Math.round(columns / 2))
  switch (type) {
    case 'run_table':
      return { w: columns, h: 5 }
    case 'markdown':
      return { w: half, h: 4 }
    case 'scalar':
      return { w: Math.max(1, Math.round(columns / 4)), h: 4 }
    default:
      return { w: half, h: 7 }
  }
}

/** Whole numbers inside the grid: at least one cell, no wider than the grid. */
export function clampRect(rect: Rect, columns: number): Rect {
  const int = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, Math.round(Number.isFinite(v) ? v : lo)))
  const w = int(rect.w, 1, columns)
  return { x: int(rect.x, 0, columns - w), y: int(rect.y, 0, Number.MAX_SAFE_INTEGER), w, h: int(rect.h, 1, MAX_ROWS) }
}

export function overlaps(a: Rect, b: Rect): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h
}

export function sameRect(a: Rect | null | undefined, b: Rect | null | undefined): boolean {
  return !!a && !!b && a.x === b.x && a.y === b.y && a.w === b.w && a.h === b.h
}

/** Move `rect` down until it overlaps none of `placed`. */
function pushDown(rect: Rect, placed: readonly Rect[]): Rect {
  const r = { ...rect }
  for (;;) {
    let bottom = -1
    for (const p of placed) if (overlaps(r, p)) bottom = Math.max(bottom, p.y + p.h)
    if (bottom < 0) return r
    r.y = bottom
  }
}

/** The first free spot for a `w`×`h` panel, scanning rows from `fromY` (and columns from `fromX` on that row). */
function firstFit(w: number, h: number, placed: readonly Rect[], columns: number, fromY: number, fromX: number): Rect {
  for (let y = fromY; ; y++) {
    for (let x = y === fromY ? fromX : 0; x + w <= columns; x++) {
      const candidate = { x, y, w, h }
      const hit = placed.find((p) => overlaps(candidate, p))
      if (!hit) return candidate
      // Nothing fits before the end of the panel in the way.
      x = hit.x + hit.w - 1
    }
  }
}

/**
 * Panels float up into free space above them, in reading order (as on W&B's
 * and react-grid-layout's dashboards): no holes open when a panel moves away,
 * and a panel pushed down comes back when the one in its way leaves.
 */
export function compact(rects: ReadonlyMap<string, Rect>): Map<string, Rect> {
  const order = [...rects.entries()].sort(([, a], [, b]) => a.y - b.y || a.x - b.x)
  const placed: Rect[] = []
  const result = new Map<string, Rect>()
  for (const [id, rect] of order) {
    const r = { ...rect }
    while (r.y > 0 && !placed.some((p) => overlaps({ ...r, y: r.y - 1 }, p))) r.y--
    const settled = pushDown(r, placed)
    placed.push(settled)
    result.set(id, settled)
  }
  return new Map([...rects.keys()].map((key) => [key, result.get(key)!]))
}

/**
 * Every panel's cell: stored layouts first, in reading order (top to bottom,
 * left to right, then list order), each pushed down past those placed before
 * it if they overlap; then panels without a layout, in list order, each in the
 * first free spot after the previous one (like CSS grid's auto-placement);
 * then everything floats up (`compact`).
 */
export function resolveLayout(items: readonly LayoutItem[], columns: number): Map<string, Rect> {
  const cols = Math.max(1, Math.floor(columns))
  const result = new Map<string, Rect>()
  const placed: Rect[] = []
  const stored = items
    .map((item, index) => ({ item, index, rect: item.layout ? clampRect(item.layout, cols) : null }))
    .filter((entry): entry is { item: LayoutItem; index: number; rect: Rect } => entry.rect !== null)
    .sort((a, b) => a.rect.y - b.rect.y || a.rect.x - b.rect.x || a.index - b.index)
  for (const { item, rect } of stored) {
    const r = pushDown(rect, placed)
    placed.push(r)
    result.set(item.id, r)
  }
  let cursor = { x: 0, y: 0 }
  for (const item of items) {
    if (item.layout) continue
    const size = defaultSize(item.type, cols)
    const r = firstFit(size.w, size.h, placed, cols, cursor.y, cursor.x)
    placed.push(r)
    result.set(item.id, r)
    cursor = { x: r.x + r.w, y: r.y }
  }
  return compact(new Map(items.map((item) => [item.id, result.get(item.id)!])))
}

/**
 * The arrangement after panel `id` is put at `target`: it takes that spot and
 * every panel in its way moves down (and whatever those then cover, in turn);
 * then everything floats up (`compact`), so a panel dropped below free space
 * rises to the top of it.
 */
export function moveItem(rects: ReadonlyMap<string, Rect>, id: string, target: Rect, columns: number): Map<string, Rect> {
  const moved = clampRect(target, columns)
  const settled: Rect[] = [moved]
  const result = new Map<string, Rect>([[id, moved]])
  const others = [...rects.entries()].filter(([key]) => key !== id).sort(([, a], [, b]) => a.y - b.y || a.x - b.x)
  for (const [key, rect] of others) {
    const r = pushDown(rect, settled)
    settled.push(r)
    result.set(key, r)
  }
  // Keep the caller's order, so iterating the result lists panels as before.
  return compact(new Map([...rects.keys()].map((key) => [key, result.get(key)!])))
}

export type DragMode = 'move' | 'resize'

/** The cell a drag that has gone `dCols` columns and `dRows` rows from `start` aims at. */
export function dragTarget(start: Rect, dCols: number, dRows: number, mode: DragMode, columns: number): Rect {
  if (mode === 'move') return clampRect({ ...start, x: start.x + dCols, y: start.y + dRows }, columns)
  const w = Math.min(columns - start.x, Math.max(1, start.w + dCols))
  return clampRect({ ...start, w, h: start.h + dRows }, columns)
}

/** What changed between the stored layouts and `next`: the layouts to write. */
export function layoutChanges(items: readonly LayoutItem[], next: ReadonlyMap<string, Rect>): Map<string, Rect> {
  const changes = new Map<string, Rect>()
  for (const item of items) {
    const rect = next.get(item.id)
    if (rect && !sameRect(item.layout, rect)) changes.set(item.id, rect)
  }
  return changes
}
