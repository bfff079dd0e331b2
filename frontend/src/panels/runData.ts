/**
 * The runs behind one panel grid: the runs each run set selects (runs list
 * endpoint, plus explicit run ids), their history for the metrics the panels
 * show, and the live stream (SSE) that extends it while runs log. Frozen run
 * sets load once and do not follow. Listeners hear which metrics changed, so
 * a grid redraws only the panels that show them. The stream is the page's, shared
 * by every grid (runStream.ts).
 */

import { api } from '../api'
import { configKeys } from './aggregate'
import { RunSeries, runsQuery, type HistoryBody } from './chartData'
import type { RunsetSpec } from './gridModel'
import { runStreams, type RunStreams, type StreamListener } from './runStream'

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
/** The history endpoint takes at most this many keys at once. */
const KEYS_PER_REQUEST = 100
/** Runs asked which metrics they logged, for the panel editor's suggestions. */
const DISCOVER_RUNS = 20

/** Which metrics changed; `null`: the runs themselves changed, everything may have. */
export type ChangedKeys = ReadonlySet<string> | null

/** `GET /api/runs/{id}/metrics`. */
interface MetricKeysBody {
  run_id: string
  keys: string[]
}

export interface Discovered {
  /** History keys and numeric summary keys the runs have. */
  metrics: string[]
  configKeys: string[]
}

export class GridRuns {
  runs: RunInfo[] = []
  readonly series = new Map<string, RunSeries>()
  error: string | null = null
  /** Whether the first load finished (an empty `runs` then means no run matched). */
  loaded = false

  private keys: string[] = []
  /** Keys whose history each run has loaded. */
  private readonly loadedKeys = new Map<string, Set<string>>()
  private unfollow: (() => void) | null = null
  /** The runs followed now, sorted and joined. */
  private streamed = ''
  private timer: number | null = null
  private stopped = false
  private generation = 0
  private loading: Promise<void> = Promise.resolve()
  private discovered: Promise<Discovered> | null = null
  private readonly listeners = new Set<(changed: ChangedKeys) => void>()

  /** What the page's stream tells this grid. */
  private readonly streamListener: StreamListener = {
    rows: (runId, rows) => {
      let run = this.series.get(runId)
      if (!run) {
        run = new RunSeries()
        this.series.set(runId, run)
      }
      if (run.addRows(rows, this.keys)) {
        const changed = new Set<string>()
        for (const row of rows) for (const key of Object.keys(row.metrics)) if (this.keys.includes(key)) changed.add(key)
        this.emit(changed)
      }
    },
    // Rows may have been missed (a gap, or a reconnect): re-read those runs.
    missed: (ids) => {
      void Promise.all(ids.map((id) => this.loadHistory(id, true))).then(
        () => this.emit(new Set(this.keys)),
        (error: unknown) => {
          this.error = String(error)
          this.emit(null)
        },
      )
    },
  }

  constructor(private readonly streams: RunStreams = runStreams) {}

  onChange(listener: (changed: ChangedKeys) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** The metric keys whose history is loaded and followed. */
  get metricKeys(): readonly string[] {
    return this.keys
  }

  /** (Re)load for these run sets and metric keys. */
  load(runsets: readonly RunsetSpec[], keys: readonly string[]): Promise<void> {
    this.loading = this.reload(runsets, keys)
    return this.loading
  }

  /**
   * Also load and follow `keys` (a panel now shows another metric): only the
   * history of keys not loaded yet is fetched, and the runs are not listed again.
   */
  async want(keys: readonly string[]): Promise<void> {
    const fresh = keys.filter((key) => key && !this.keys.includes(key))
    if (fresh.length === 0) return
    this.keys = [...this.keys, ...fresh]
    await this.loading
    const generation = this.generation
    try {
      await Promise.all(this.runs.map((run) => this.loadHistory(run.id)))
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error)
    }
    if (generation === this.generation && !this.stopped) this.emit(new Set(fresh))
  }

  /** Metric names and config keys of the runs (asked once per load, for the panel editor). */
  discover(): Promise<Discovered> {
    this.discovered ??= this.loading.then(async () => {
      const metrics = new Set<string>()
      for (const run of this.runs) {
        for (const [key, value] of Object.entries(run.summary)) if (typeof value === 'number' && !key.startsWith('_')) metrics.add(key)
      }
      const answers = await Promise.allSettled(
        // The names only: a long run's series are far too many points to read for them.
        this.runs.slice(0, DISCOVER_RUNS).map((run) => api<MetricKeysBody>('GET', `/api/runs/${encodeURIComponent(run.id)}/metrics`)),
      )
      for (const answer of answers) if (answer.status === 'fulfilled') for (const key of answer.value.keys) metrics.add(key)
      return { metrics: [...metrics].sort(), configKeys: configKeys(this.runs) }
    })
    return this.discovered
  }

  private async reload(runsets: readonly RunsetSpec[], keys: readonly string[]): Promise<void> {
    const generation = ++this.generation
    this.keys = [...new Set(keys.filter(Boolean))]
    this.discovered = null
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
      // Replace what is loaded run by run (no moment with empty charts), then drop runs that left.
      await Promise.all(this.runs.map((run) => this.loadHistory(run.id, true)))
      if (generation !== this.generation || this.stopped) return
      const ids = new Set(this.runs.map((r) => r.id))
      for (const map of [this.series, this.loadedKeys]) for (const id of [...map.keys()]) if (!ids.has(id)) map.delete(id)
      this.error = null
      const live = [...found.values()].filter((f) => !f.frozen).map((f) => f.run.id)
      this.follow(live)
      this.scheduleRelist(runsets, live.length > 0 || runsets.some((r) => !r.frozen))
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error)
    }
    if (generation !== this.generation || this.stopped) return
    this.loaded = true
    this.emit(null)
  }

  stop(): void {
    this.stopped = true
    this.generation += 1
    this.unfollow?.()
    this.unfollow = null
    if (this.timer !== null) window.clearTimeout(this.timer)
    this.listeners.clear()
  }

  /** Load the history of the keys `runId` lacks (all of them with `again`, after missed rows). */
  private async loadHistory(runId: string, again = false): Promise<void> {
    const loaded = this.loadedKeys.get(runId) ?? new Set<string>()
    const missing = again ? [...this.keys] : this.keys.filter((key) => !loaded.has(key))
    for (let i = 0; i < missing.length; i += KEYS_PER_REQUEST) {
      const keys = missing.slice(i, i + KEYS_PER_REQUEST)
      const query = `keys=${keys.map(encodeURIComponent).join(',')}&max_points=${MAX_POINTS}`
      const body = await api<HistoryBody>('GET', `/api/runs/${encodeURIComponent(runId)}/history?${query}`)
      const fetched = RunSeries.fromHistory(body, keys)
      const run = this.series.get(runId) ?? new RunSeries()
      for (const key of keys) {
        const series = fetched.byMetric.get(key)
        if (series) run.byMetric.set(key, series)
        loaded.add(key)
      }
      this.series.set(runId, run)
      this.loadedKeys.set(runId, loaded)
    }
  }

  private follow(runIds: string[]): void {
    const wanted = [...runIds].sort().join(',')
    if (wanted === this.streamed && this.unfollow) return
    // Follow the new runs before letting go of the old: a run in both stays streamed throughout.
    const previous = this.unfollow
    this.streamed = wanted
    this.unfollow = wanted ? this.streams.follow(runIds, this.streamListener) : null
    previous?.()
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
        this.discovered = null
        this.follow(this.runs.map((r) => r.id))
        this.emit(null)
      }
    } catch (error) {
      this.error = String(error)
      this.emit(null)
    }
    this.scheduleRelist(runsets, true)
  }

  private emit(changed: ChangedKeys): void {
    for (const listener of [...this.listeners]) listener(changed)
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
