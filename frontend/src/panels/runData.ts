/**
 * The runs behind one panel grid: the runs each run set selects (runs list
 * endpoint, plus explicit run ids), their history for the metrics the panels
 * show, and the live stream (SSE) that extends it while runs log. Frozen run
 * sets load once and do not follow.
 */

import { api } from '../api'
import { RunSeries, runsQuery, type HistoryBody, type LiveRow } from './chartData'
import type { RunsetSpec } from './gridModel'

export interface RunInfo {
  id: string
  project: string
  name: string
  state: string
  config: Record<string, unknown>
  summary: Record<string, unknown>
}

const MAX_POINTS = 1000
/** How often a following run set looks for new runs (the stream only covers known ones). */
const RELIST_MS = 10_000

export class GridRuns {
  runs: RunInfo[] = []
  readonly series = new Map<string, RunSeries>()
  error: string | null = null

  private keys: string[] = []
  private source: EventSource | null = null
  private streamed = ''
  private timer: number | null = null
  private stopped = false
  private generation = 0
  private readonly listeners = new Set<() => void>()

  onChange(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** (Re)load for these run sets and metric keys. */
  async load(runsets: readonly RunsetSpec[], keys: readonly string[]): Promise<void> {
    const generation = ++this.generation
    this.keys = [...new Set(keys)]
    try {
      const found = new Map<string, { run: RunInfo; frozen: boolean }>()
      for (const runset of runsets) {
        for (const run of await listRunset(runset)) {
          const seen = found.get(run.id)
          found.set(run.id, { run, frozen: (seen?.frozen ?? true) && runset.frozen })
        }
      }
      if (generation !== this.generation || this.stopped) return
      this.runs = [...found.values()].map((f) => f.run)
      await Promise.all(this.runs.map((run) => this.loadHistory(run.id)))
      if (generation !== this.generation || this.stopped) return
      this.error = null
      const live = [...found.values()].filter((f) => !f.frozen).map((f) => f.run.id)
      this.follow(live)
      this.scheduleRelist(runsets, live.length > 0 || runsets.some((r) => !r.frozen))
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error)
    }
    this.emit()
  }

  stop(): void {
    this.stopped = true
    this.generation += 1
    this.source?.close()
    this.source = null
    if (this.timer !== null) window.clearTimeout(this.timer)
    this.listeners.clear()
  }

  private async loadHistory(runId: string): Promise<void> {
    if (this.keys.length === 0) return
    const query = `keys=${this.keys.map(encodeURIComponent).join(',')}&max_points=${MAX_POINTS}`
    const body = await api<HistoryBody>('GET', `/api/runs/${encodeURIComponent(runId)}/history?${query}`)
    this.series.set(runId, RunSeries.fromHistory(body, this.keys))
  }

  private follow(runIds: string[]): void {
    const wanted = runIds.slice(0, 100).sort().join(',')
    if (wanted === this.streamed && this.source) return
    this.source?.close()
    this.source = null
    this.streamed = wanted
    if (!wanted) return
    const source = new EventSource(`/api/runs/stream?runs=${encodeURIComponent(wanted)}`)
    source.addEventListener('history', (event) => {
      const data = JSON.parse((event as MessageEvent<string>).data) as { run_id: string; rows: LiveRow[] }
      let run = this.series.get(data.run_id)
      if (!run) {
        run = new RunSeries()
        this.series.set(data.run_id, run)
      }
      if (run.addRows(data.rows, this.keys)) this.emit()
    })
    // Rows may have been missed (a gap, or a reconnect): re-read those runs.
    const reread = (ids: string[]) => {
      void Promise.all(ids.map((id) => this.loadHistory(id))).then(
        () => this.emit(),
        (error: unknown) => {
          this.error = String(error)
          this.emit()
        },
      )
    }
    source.addEventListener('gap', (event) => reread((JSON.parse((event as MessageEvent<string>).data) as { runs: string[] }).runs))
    let opened = false
    source.addEventListener('open', () => {
      if (opened) reread(runIds)
      opened = true
    })
    this.source = source
  }

  private scheduleRelist(runsets: readonly RunsetSpec[], following: boolean): void {
    if (this.timer !== null) window.clearTimeout(this.timer)
    this.timer = null
    if (!following || this.stopped) return
    this.timer = window.setTimeout(() => {
      this.timer = null
      void this.relist(runsets)
    }, RELIST_MS)
  }

  /** Pick up runs that started after the grid loaded. */
  private async relist(runsets: readonly RunsetSpec[]): Promise<void> {
    const generation = this.generation
    try {
      const known = new Set(this.runs.map((r) => r.id))
      const fresh: RunInfo[] = []
      for (const runset of runsets.filter((r) => !r.frozen)) {
        for (const run of await listRunset(runset)) if (!known.has(run.id)) fresh.push(run)
      }
      if (generation !== this.generation || this.stopped) return
      if (fresh.length) {
        await Promise.all(fresh.map((run) => this.loadHistory(run.id)))
        this.runs = [...this.runs, ...fresh]
        this.follow(this.runs.map((r) => r.id))
        this.emit()
      }
    } catch (error) {
      this.error = String(error)
      this.emit()
    }
    this.scheduleRelist(runsets, true)
  }

  private emit(): void {
    for (const listener of [...this.listeners]) listener()
  }
}

async function listRunset(runset: RunsetSpec): Promise<RunInfo[]> {
  const runs: RunInfo[] = []
  if (runset.project) {
    const page = await api<{ runs: RunInfo[] }>('GET', `/api/projects/${encodeURIComponent(runset.project)}/runs?${runsQuery(runset.filters)}`)
    runs.push(...page.runs)
  }
  for (const id of runset.runIds) {
    if (runs.some((r) => r.id === id)) continue
    runs.push(await api<RunInfo>('GET', `/api/runs/${encodeURIComponent(id)}`))
  }
  return runs
}
