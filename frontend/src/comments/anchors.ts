/**
 * Text anchors: a selection in the editor becomes a pair of Yjs relative
 * positions in `body` (y-prosemirror's `absolutePositionToRelativePosition`,
 * encoded with `Y.encodeRelativePosition`), and back. Relative positions point
 * at Yjs items, not offsets, so the anchored words stay the anchored words
 * whatever others insert or delete around them.
 */

import { absolutePositionToRelativePosition, relativePositionToAbsolutePosition, ySyncPluginKey } from '@tiptap/y-tiptap'
import type { EditorState } from '@tiptap/pm/state'
import * as Y from 'yjs'

/** y-prosemirror's map between Yjs types and ProseMirror nodes. */
export type Mapping = Parameters<typeof absolutePositionToRelativePosition>[2]

export interface Binding {
  doc: Y.Doc
  type: Y.XmlFragment
  mapping: Mapping
}

/** The Yjs binding of an editor state with the collaboration extension, once it exists. */
export function bindingOf(state: EditorState): Binding | null {
  const sync = ySyncPluginKey.getState(state) as { doc?: Y.Doc; type?: Y.XmlFragment; binding?: { mapping: Mapping } } | undefined
  if (!sync?.binding || !sync.type || !sync.doc) return null
  return { doc: sync.doc, type: sync.type, mapping: sync.binding.mapping }
}

export function encodeAnchor(binding: Binding, from: number, to: number): { rel_start: Uint8Array; rel_end: Uint8Array } {
  const start = absolutePositionToRelativePosition(from, binding.type, binding.mapping) as Y.RelativePosition
  const end = absolutePositionToRelativePosition(to, binding.type, binding.mapping) as Y.RelativePosition
  return { rel_start: Y.encodeRelativePosition(start), rel_end: Y.encodeRelativePosition(end) }
}

/**
 * Where an anchor is now, as ProseMirror positions; null when its text is gone
 * (both ends collapsed onto each other) or the positions cannot be resolved.
 */
export function resolveAnchor(binding: Binding, relStart: Uint8Array, relEnd: Uint8Array): { from: number; to: number } | null {
  const from = relativePositionToAbsolutePosition(binding.doc, binding.type, Y.decodeRelativePosition(relStart), binding.mapping)
  const to = relativePositionToAbsolutePosition(binding.doc, binding.type, Y.decodeRelativePosition(relEnd), binding.mapping)
  if (from === null || to === null || to <= from) return null
  return { from, to }
}

/** Anchors come back from the network as `Uint8Array`s, or as plain arrays from JSON copies. */
export function asBytes(value: unknown): Uint8Array | null {
  if (value instanceof Uint8Array) return value
  if (Array.isArray(value) && value.every((b) => typeof b === 'number')) return Uint8Array.from(value as number[])
  return null
}
