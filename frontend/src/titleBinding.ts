/**
 * Binds a single-line text field to a Y.Text: local typing becomes the minimal
 * delete/insert on the shared text (so concurrent edits by others interleave
 * instead of being overwritten), and remote edits update the field while
 * keeping the caret where the user left it.
 */

import type * as Y from 'yjs'

import { diffText, mapPosition, type TextChange, type TextDelta } from './textDiff'

export type TextField = HTMLInputElement | HTMLTextAreaElement

export function bindTitle(field: TextField, text: Y.Text, origin: unknown): () => void {
  // While an IME composes, the field holds provisional text: remote edits are
  // queued and applied, with the finished composition, at compositionend.
  let composition: { base: string; remote: TextDelta[] } | null = null
  field.value = text.toString()

  const apply = (change: TextChange) => {
    text.doc!.transact(() => {
      if (change.remove > 0) text.delete(change.index, change.remove)
      if (change.insert) text.insert(change.index, change.insert)
    }, origin)
  }

  const onInput = () => {
    if (composition) return
    const change = diffText(text.toString(), singleLine(field), field.selectionEnd ?? undefined)
    if (change) apply(change)
  }

  const onRemote = (event: Y.YTextEvent) => {
    if (event.transaction.origin === origin) return
    if (composition) {
      composition.remote.push(event.delta as TextDelta)
      return
    }
    const focused = document.activeElement === field
    const start = field.selectionStart ?? 0
    const end = field.selectionEnd ?? 0
    field.value = text.toString()
    if (focused) {
      field.setSelectionRange(mapPosition(start, event.delta), mapPosition(end, event.delta))
    }
  }

  const onCompositionStart = () => {
    composition = { base: text.toString(), remote: [] }
  }

  const onCompositionEnd = () => {
    if (!composition) return
    const { base, remote } = composition
    composition = null
    const change = diffText(base, singleLine(field), field.selectionEnd ?? undefined)
    if (remote.length === 0) {
      if (change) apply(change)
      return
    }
    const through = (pos: number) => remote.reduce((p, delta) => mapPosition(p, delta), pos)
    let caret = through(field.selectionEnd ?? 0)
    if (change) {
      const start = through(change.index)
      const end = through(change.index + change.remove)
      apply({ index: start, remove: Math.max(0, end - start), insert: change.insert })
      caret = start + change.insert.length
    }
    field.value = text.toString()
    field.setSelectionRange(caret, caret)
  }

  field.addEventListener('input', onInput)
  field.addEventListener('compositionstart', onCompositionStart)
  field.addEventListener('compositionend', onCompositionEnd)
  text.observe(onRemote)
  return () => {
    field.removeEventListener('input', onInput)
    field.removeEventListener('compositionstart', onCompositionStart)
    field.removeEventListener('compositionend', onCompositionEnd)
    text.unobserve(onRemote)
  }
}

/** Titles are one line: a pasted line break becomes a space, caret kept. */
function singleLine(field: TextField): string {
  if (!/[\r\n]/.test(field.value)) return field.value
  const start = field.selectionStart
  const end = field.selectionEnd
  // "\r\n" collapses to one space, so the caret moves back by one per pair before it.
  const shift = (pos: number | null) =>
    pos === null ? null : pos - (field.value.slice(0, pos).match(/\r\n/g)?.length ?? 0)
  const s = shift(start)
  const e = shift(end)
  field.value = field.value.replace(/\r\n|[\r\n]/g, ' ')
  if (s !== null && e !== null) field.setSelectionRange(s, e)
  return field.value
}
