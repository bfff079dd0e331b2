/**
 * Where someone is looking, in a form another client can follow: the top-level block
 * of `body` at the top of their view (as a Yjs relative position, so it stays the same
 * block whatever is inserted or deleted above it) and how far into that block the view
 * starts. Published in awareness as `viewport` (docs/protocol.md, "Awareness fields the
 * web app uses"); everything here is pure, the DOM side is in followMode.ts.
 */

import * as Y from 'yjs'

/** The awareness `viewport` field. */
export interface Viewport {
  /** `Y.relativePositionToJSON` of the top block's position in `body`'s children. */
  block: Record<string, unknown>
  /** The block's index when published: a hint for clients that cannot resolve `block`. */
  index: number
  /** How much of the block (0..1 of its height) is above the top of the view. */
  fraction: number
}

export interface BlockRect {
  top: number
  bottom: number
}

/** Fractions are published to two decimals: finer moves are not worth a message. */
const FRACTION_STEP = 100

/**
 * The block at the top of the view: the first whose bottom is below `line` (the top edge
 * of the visible page, under any sticky bars), and the share of it above that line.
 * `rectAt(i)` measures the `i`th of `count` blocks; blocks flow down the page, so a
 * binary search measures only a handful of them. Null when there are no blocks.
 */
export function topBlock(count: number, rectAt: (index: number) => BlockRect, line: number): { index: number; fraction: number } | null {
  if (count <= 0) return null
  let low = 0
  let high = count
  while (low < high) {
    const middle = (low + high) >> 1
    if (rectAt(middle).bottom <= line) low = middle + 1
    else high = middle
  }
  // Scrolled past every block (the padding below the last): the last block, fully above.
  if (low === count) return { index: count - 1, fraction: 1 }
  const { top, bottom } = rectAt(low)
  const height = bottom - top
  const fraction = height > 0 ? clamp((line - top) / height) : 0
  return { index: low, fraction: Math.round(fraction * FRACTION_STEP) / FRACTION_STEP }
}

/** A viewport anchored to the `index`th child of `body`. */
export function anchorViewport(body: Y.XmlFragment, index: number, fraction: number): Viewport {
  const bounded = Math.max(0, Math.min(index, body.length))
  const position = Y.createRelativePositionFromTypeIndex(body, bounded)
  return { block: Y.relativePositionToJSON(position) as Record<string, unknown>, index: bounded, fraction: clamp(fraction) }
}

/**
 * Which child of `body` a viewport points at now. A block deleted since resolves to where
 * it was; a position this document cannot resolve yet (its block has not arrived) falls
 * back to the published index.
 */
export function resolveViewport(doc: Y.Doc, body: Y.XmlFragment, viewport: Viewport): { index: number; fraction: number } {
  const last = Math.max(0, body.length - 1)
  let index = viewport.index
  try {
    const absolute = Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON(viewport.block), doc)
    if (absolute !== null && absolute.type === body) index = absolute.index
  } catch {
    // A malformed position from another client: the index hint will do.
  }
  return { index: Math.max(0, Math.min(index, last)), fraction: clamp(viewport.fraction) }
}

/** A remote `viewport` field, checked; null when it is missing or not one. */
export function parseViewport(value: unknown): Viewport | null {
  if (typeof value !== 'object' || value === null) return null
  const { block, index, fraction } = value as Record<string, unknown>
  if (typeof block !== 'object' || block === null || Array.isArray(block)) return null
  if (typeof index !== 'number' || !Number.isInteger(index) || index < 0) return null
  if (typeof fraction !== 'number' || !Number.isFinite(fraction)) return null
  return { block: block as Record<string, unknown>, index, fraction: clamp(fraction) }
}

export function sameViewport(a: Viewport | null, b: Viewport | null): boolean {
  if (a === null || b === null) return a === b
  return a.index === b.index && a.fraction === b.fraction && JSON.stringify(a.block) === JSON.stringify(b.block)
}

/**
 * The scroll offset that puts `fraction` of the block at `rect` (viewport coordinates,
 * at scroll offset `scrollY`) on `line`.
 */
export function scrollTargetFor(rect: BlockRect, fraction: number, line: number, scrollY: number): number {
  const spot = rect.top + clamp(fraction) * (rect.bottom - rect.top)
  return Math.max(0, Math.round(scrollY + spot - line))
}

function clamp(value: number): number {
  return Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 0
}
