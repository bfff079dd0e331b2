/**
 * What a transaction really changed, found by comparing the documents before
 * and after it. Plugins that derive something from the document (highlights,
 * headings, code colours) use it to redo only what touches the change.
 *
 * Comparing documents rather than reading the transaction's steps matters for
 * remote edits: y-prosemirror applies each one as a single step replacing the
 * whole document, while the old and new documents still share every unchanged
 * node, so the comparison skips those by identity and costs little even in a
 * long document.
 */

import type { Node as PmNode } from '@tiptap/pm/model'
import { Mapping, StepMap } from '@tiptap/pm/transform'

/** `[start, endBefore)` in the old document became `[start, endAfter)` in the new one. */
export interface ChangedRange {
  start: number
  endBefore: number
  endAfter: number
}

/**
 * The part of the document that differs between `before` and `after`; null
 * when they are the same.
 */
export function changedRange(before: PmNode, after: PmNode): ChangedRange | null {
  const start = before.content.findDiffStart(after.content)
  if (start === null) return null
  const end = after.content.findDiffEnd(before.content)
  let endAfter = end ? end.a : after.content.size
  let endBefore = end ? end.b : before.content.size
  // Repeated content can make the two scans overlap: move the end past the start.
  const overlap = start - Math.min(endBefore, endAfter)
  if (overlap > 0) {
    endBefore += overlap
    endAfter += overlap
  }
  return { start, endBefore, endAfter }
}

/** Maps positions (and decorations) of the old document across the change. */
export function changeMapping(change: ChangedRange): Mapping {
  return new Mapping([new StepMap([change.start, change.endBefore - change.start, change.endAfter - change.start])])
}

/**
 * Whether a node `matches` in `doc` between `from` and `to` (widened by one
 * position each side, so a node that only borders a deletion or insertion
 * counts). Does not look inside textblocks, which hold only inline content.
 */
export function touchesNode(doc: PmNode, from: number, to: number, matches: (node: PmNode) => boolean): boolean {
  let found = false
  doc.nodesBetween(Math.max(0, from - 1), Math.min(doc.content.size, to + 1), (node) => {
    if (found) return false
    if (matches(node)) found = true
    return !found && !node.isTextblock
  })
  return found
}
