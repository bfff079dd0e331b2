/**
 * Turning a plain text field's edits into minimal Y.Text operations, and
 * keeping the caret in place when remote edits change the text under it.
 *
 * Positions are UTF-16 code units, which is what both the DOM and Y.Text use.
 */

/** One contiguous replacement: at `index`, delete `remove` units, then insert `insert`. */
export interface TextChange {
  index: number
  remove: number
  insert: string
}

/**
 * The smallest single replacement that turns `before` into `after`.
 *
 * When the same result could come from edits at several places ("aa" -> "aaa"),
 * `caret` (the selection end after the edit) picks the one the user made, so a
 * concurrent remote edit lands on the right side of what was typed.
 * Returns null when nothing changed.
 */
export function diffText(before: string, after: string, caret?: number): TextChange | null {
  if (before === after) return null
  const shorter = Math.min(before.length, after.length)

  // The edit cannot reach past the caret, so what follows it is common suffix.
  let suffixLimit = shorter
  if (caret !== undefined && caret >= 0 && caret <= after.length) {
    suffixLimit = Math.min(suffixLimit, after.length - caret)
  }
  let suffix = 0
  while (
    suffix < suffixLimit &&
    before.charCodeAt(before.length - 1 - suffix) === after.charCodeAt(after.length - 1 - suffix)
  ) {
    suffix++
  }

  const prefixLimit = shorter - suffix
  let prefix = 0
  while (prefix < prefixLimit && before.charCodeAt(prefix) === after.charCodeAt(prefix)) prefix++

  // Never split a surrogate pair: widen the change to cover the whole character.
  if (prefix > 0 && isHighSurrogate(before.charCodeAt(prefix - 1))) prefix--
  if (suffix > 0 && isLowSurrogate(before.charCodeAt(before.length - suffix))) suffix--

  return {
    index: prefix,
    remove: before.length - prefix - suffix,
    insert: after.slice(prefix, after.length - suffix),
  }
}

/** A Yjs text delta (Y.YTextEvent.delta). */
export type TextDelta = ReadonlyArray<{ retain?: number; insert?: unknown; delete?: number }>

/**
 * Where `position` ends up after `delta` is applied. Text inserted exactly at
 * the position goes before it when `insertBefore` (a remote insert at your
 * caret pushes the caret along), matching how editors treat others' typing.
 */
export function mapPosition(position: number, delta: TextDelta, insertBefore = false): number {
  let oldIndex = 0
  let mapped = position
  for (const op of delta) {
    if (oldIndex > position) break
    if (op.retain !== undefined) {
      oldIndex += op.retain
    } else if (op.insert !== undefined) {
      const length = typeof op.insert === 'string' ? op.insert.length : 1
      if (oldIndex < position || (oldIndex === position && insertBefore)) mapped += length
    } else if (op.delete !== undefined) {
      const end = oldIndex + op.delete
      if (end <= position) mapped -= op.delete
      else if (oldIndex < position) mapped -= position - oldIndex
      oldIndex = end
    }
  }
  return mapped
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff
}
