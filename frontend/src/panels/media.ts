/**
 * Media panels: the images runs logged under one key
 * (`GET /api/runs/{id}/media?key=...`), which of them to show at a step, and when to
 * list them again. The runs stream carries history rows only (logging an image
 * publishes nothing), so a panel lists the images again shortly after rows arrive and,
 * while a run is running, every few seconds even when no rows do.
 */

import { api } from '../api'

/** What the media list answers for one image (`MediaOut`). */
export interface MediaItem {
  id: string
  run_id: string
  key: string
  step: number
  index: number
  content_type: string
  caption: string | null
  url: string
}

const PAGE = 1000
/** A run with more images than this under one key shows the first ones. */
const MAX_ITEMS = 5000

/** Every image `runId` logged under `key`, by step and index. */
export async function listMedia(runId: string, key: string, signal?: AbortSignal): Promise<MediaItem[]> {
  const items: MediaItem[] = []
  for (let offset = 0; offset < MAX_ITEMS; offset += PAGE) {
    const page = await api<{ media: MediaItem[] }>(
      'GET',
      `/api/runs/${encodeURIComponent(runId)}/media?key=${encodeURIComponent(key)}&limit=${PAGE}&offset=${offset}`,
      { signal },
    )
    items.push(...page.media)
    if (page.media.length < PAGE) break
  }
  return items
}

/** The image keys a run logged (from its first images). */
export async function mediaKeys(runId: string, signal?: AbortSignal): Promise<string[]> {
  const page = await api<{ media: MediaItem[] }>('GET', `/api/runs/${encodeURIComponent(runId)}/media?limit=${PAGE}`, { signal })
  return [...new Set(page.media.map((m) => m.key))]
}

/** The steps at which any of the runs logged an image, ascending. */
export function mediaSteps(byRun: Iterable<readonly MediaItem[]>): number[] {
  const steps = new Set<number>()
  for (const items of byRun) for (const item of items) steps.add(item.step)
  return [...steps].sort((a, b) => a - b)
}

/** A run's images at the last step it logged at or before `step` (all indices of that step), or none. */
export function mediaAt(items: readonly MediaItem[], step: number): MediaItem[] {
  let best = -1
  for (const item of items) if (item.step <= step && item.step > best) best = item.step
  if (best < 0) return []
  return items.filter((item) => item.step === best).sort((a, b) => a.index - b.index)
}

/**
 * How long until a media panel lists its runs' images again, given the time since it
 * last did: at most every `interval` ms, after new history rows (an image is usually
 * logged with its step's metrics, just before or after them) or while a run is
 * running (it may log images alone); null when neither holds: nothing will change.
 */
export function mediaRefreshDelay(sinceFetch: number, interval: number, rowsArrived: boolean, anyRunning: boolean): number | null {
  if (!rowsArrived && !anyRunning) return null
  return Math.max(0, interval - sinceFetch)
}
