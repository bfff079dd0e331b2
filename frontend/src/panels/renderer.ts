/**
 * What every panel renderer gets and offers. A renderer owns the content area
 * of one panel card and draws one panel type into it; the grid calls `render`
 * only when that panel's settings or data changed.
 */

import type { PanelSpec } from './gridModel'
import type { GridRuns } from './runData'
import { usesStep } from './lineData'

/** A reader's own view of a panel (everyone has one; never written to the report). */
export interface ReaderState {
  /** Legend keys (runs, groups) hidden from the chart. */
  hidden: Set<string>
  /** Smoothing instead of the panel's, or null. */
  smoothing: number | null
  /** The zoomed x range, or null (the whole range, following new points). */
  zoom: { min: number; max: number } | null
  /** The step a media panel shows, or null (the latest). */
  mediaStep: number | null
}

export function newReaderState(): ReaderState {
  return { hidden: new Set(), smoothing: null, zoom: null, mediaStep: null }
}

export interface PanelContext {
  spec: PanelSpec
  data: GridRuns
  reader: ReaderState
  editable: boolean
  /** Draw this panel again (after a reader control changed). */
  redraw(): void
}

export interface PanelRenderer {
  render(ctx: PanelContext): void
  /** The card changed size. */
  resize(): void
  destroy(): void
}

/** The history keys a panel draws (its live updates are the rows that carry these). */
export function panelMetricKeys(spec: PanelSpec): string[] {
  switch (spec.type) {
    case 'line':
      return usesStep(spec.xAxis) ? spec.metrics : [...spec.metrics, spec.xAxis]
    case 'bar':
    case 'scalar':
      return spec.metrics.slice(0, 1)
    case 'scatter':
      return usesStep(spec.xAxis) ? spec.metrics.slice(0, 1) : [...spec.metrics.slice(0, 1), spec.xAxis]
    case 'run_table':
      return spec.metrics
    default:
      return []
  }
}

/** What a panel with no data says, in order of what is most likely wrong. */
export function emptyNote(ctx: PanelContext, what = 'points'): string {
  const { data, spec } = ctx
  if (data.error) return `Could not load runs: ${data.error}`
  if (!data.loaded) return 'Loading runs…'
  if (data.runs.length === 0) return 'No runs match this run set.'
  if (spec.metrics.length === 0) return ctx.editable ? 'No metric chosen yet: Edit the panel to pick one.' : 'No metric chosen yet.'
  return `No ${what} logged yet.`
}
