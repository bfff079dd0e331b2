/**
 * The runs behind one panel grid: the runs each run set selects (runs list
 * endpoint, plus explicit run ids), their history for the metrics the panels
 * show, and the live stream (SSE) that extends it while runs log. Frozen run
 * sets load once and do not follow. Listeners hear which metrics changed, so
 * a grid redraws only the panels that show them. The stream is the page's, shared
 * by every grid (runStream.ts).
 *
 * The stream does not replay, so the order is: list the runs, follow them,
 * wait until the stream is open, then read their history. Read first, the rows
 * logged between the read and the subscription (seconds, with many runs) would
 * leave a hole in the curves. A history read also keeps the rows the stream
 * delivers while it is in flight and puts them back on top of the answer,
 * which the server may have read before they were logged.
 */

import { api } from '../api'
import { configKeys } from './aggregate'
import { RunSeries, runsQuery, type HistoryBody, type LiveRow } from './chartData'
import type { RunsetSpec } from './gridModel'
import { runStreams, type Followed, type RunStreams, type StreamListener } from './runStream'

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
  /**
   * By run and key, the number of the history read whose answer is in place.
   * The answer to a read started earlier may arrive later; it must not replace
   * it (it would take back the rows only the later one has, such as those
   * logged while the stream was down).
   */
  private readonly answered = new Map<string, Map<string, number>>()
  /** History reads started, counted to order their answers. */
  private reads = 0
  /** By run, the rows the stream delivered to each history read in flight. */
  private readonly overheard = new Map<string, Set<LiveRow[]>>()
  private followed: Followed | null = null
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
      for (const heard of this.overheard.get(runId) ?? []) heard.push(...rows)
      // A key whose history is still on its way gets these rows on top of it (overheard):
      // drawn alone they would show the run as its newest points only.
      const loaded = this.loadedKeys.get(runId)
      const keys = this.keys.filter((key) => loaded?.has(key))
      if (keys.length === 0) return
      let run = this.series.get(runId)
      if (!run) {
        run = new RunSeries()
        this.series.set(runId, run)
      }
      if (run.addRows(rows, keys)) {
        const changed = new Set<string>()
        for (const row of rows) for (const key of Object.keys(row.metrics)) if (keys.includes(key)) changed.add(key)
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
      const live = [...found.values()].filter((f) => !f.frozen).map((f) => f.run.id)
      // The stream before the history (see the top of this file); frozen runs do not wait.
      await this.follow(live)
      if (generation !== this.generation || this.stopped) return
      // Replace what is loaded run by run (no moment with empty charts), then drop runs that left.
      await Promise.all(this.runs.map((run) => this.loadHistory(run.id, true)))
      if (generation !== this.generation || this.stopped) return
      const ids = new Set(this.runs.map((r) => r.id))
      for (const map of [this.series, this.loadedKeys, this.answered]) for (const id of [...map.keys()]) if (!ids.has(id)) map.delete(id)
      this.error = null
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
    this.followed?.stop()
    this.followed = null
    if (this.timer !== null) window.clearTimeout(this.timer)
    this.listeners.clear()
  }

  /** Load the history of the keys `runId` lacks (all of them with `again`, after missed rows). */
  private async loadHistory(runId: string, again = false): Promise<void> {
    const loaded = this.loadedKeys.get(runId) ?? new Set<string>()
    const missing = again ? [...this.keys] : this.keys.filter((key) => !loaded.has(key))
    for (let i = 0; i < missing.length; i += KEYS_PER_REQUEST) {
      const keys = missing.slice(i, i + KEYS_PER_REQUEST)
      const read = ++this.reads
      const { body, heard } = await this.overhearing(runId, () => {
        const query = `keys=${keys.map(encodeURIComponent).join(',')}&max_points=${MAX_POINTS}`
        return api<HistoryBody>('GET', `/api/runs/${encodeURIComponent(runId)}/history?${query}`)
      })
      const fetched = RunSeries.fromHistory(body, keys)
      const run = this.series.get(runId) ?? new RunSeries()
      const answered = this.answered.get(runId) ?? new Map<string, number>()
      for (const key of keys) {
        if ((answered.get(key) ?? 0) > read) continue
        answered.set(key, read)
        const series = fetched.byMetric.get(key)
        if (series) run.byMetric.set(key, series)
        loaded.add(key)
      }
      // The server may have read before these were logged; where it did not, they replace their own points.
      run.addRows(heard, keys)
      this.series.set(runId, run)
      this.loadedKeys.set(runId, loaded)
      this.answered.set(runId, answered)
    }
  }

  /** `request()`, and the rows the stream delivers for `runId` until it answers. */
  private async overhearing<T>(runId: string, request: () => Promise<T>): Promise<{ body: T; heard: LiveRow[] }> {
    const heard: LiveRow[] = []
    const listening = this.overheard.get(runId) ?? new Set<LiveRow[]>()
    listening.add(heard)
    this.overheard.set(runId, listening)
    try {
      return { body: await request(), heard }
    } finally {
      listening.delete(heard)
      if (listening.size === 0) this.overheard.delete(runId)
    }
  }

  /** Follow `runIds` (instead of the runs followed so far); resolves once their rows stream. */
  private follow(runIds: readonly string[]): Promise<void> {
    const wanted = [...runIds].sort().join(',')
    if (wanted === this.streamed && this.followed) return this.followed.ready
    // Follow the new runs before letting go of the old: a run in both stays streamed throughout.
    const previous = this.followed
    this.streamed = wanted
    this.followed = wanted ? this.streams.follow(runIds, this.streamListener) : null
    previous?.stop()
    return this.followed?.ready ?? Promise.resolve()
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
        // As in `reload`, the stream first. Only the runs followed so far and the new ones:
        // the runs of frozen run sets are not followed.
        const followed = this.streamed ? this.streamed.split(',') : []
        await this.follow([...followed, ...fresh.map((run) => run.id)])
        if (generation !== this.generation || this.stopped) return
        await Promise.all(fresh.map((run) => this.loadHistory(run.id)))
        if (generation !== this.generation || this.stopped) return
        this.runs = [...this.runs, ...fresh]
        this.discovered = null
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
