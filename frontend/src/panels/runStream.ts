/**
 * The live stream of new history rows (`GET /api/runs/stream`, SSE), shared by
 * every panel grid of the page.
 *
 * Browsers allow six HTTP/1.1 connections per host, and an open event stream
 * holds one for as long as it is open: with a stream per grid, a report with
 * six grids left nothing for requests, and the seventh grid waited for its
 * runs forever. So the page opens one stream for the union of the runs its
 * grids follow (one per 100 runs, the endpoint's limit) and hands each grid
 * the rows of its own runs.
 *
 * When the union changes, the new stream opens before the old one closes; the
 * rows both deliver meanwhile arrive twice, which is harmless (a row replaces
 * the point at its step). After a reconnect, or a `gap` event, the grids that
 * follow those runs are told to read their history again.
 */

import type { LiveRow } from './chartData'

/** The stream endpoint takes at most this many runs. */
export const RUNS_PER_STREAM = 100

export interface StreamListener {
  /** New rows of one of the runs this listener follows. */
  rows(runId: string, rows: LiveRow[]): void
  /** Rows of these runs (all followed by this listener) may have been missed. */
  missed(runIds: string[]): void
}

/** The part of `EventSource` the streams use (tests pass a fake). */
export interface EventSourceLike {
  addEventListener(type: string, listener: (event: MessageEvent<string>) => void): void
  close(): void
}

interface Following {
  runs: ReadonlySet<string>
  listener: StreamListener
}

interface Stream {
  /** Its runs, sorted and joined: which streams to keep is decided by this key. */
  key: string
  runs: ReadonlySet<string>
  source: EventSourceLike
  opened: boolean
}

export class RunStreams {
  private readonly following = new Set<Following>()
  private streams: Stream[] = []
  /** Streams replaced by `streams`, closed once every one of those has opened. */
  private retiring: Stream[] = []

  constructor(private readonly open: (url: string) => EventSourceLike = (url) => new EventSource(url)) {}

  /** Receive the rows of `runIds` until the returned function is called. */
  follow(runIds: readonly string[], listener: StreamListener): () => void {
    const entry: Following = { runs: new Set(runIds), listener }
    this.following.add(entry)
    this.reconcile()
    return () => {
      if (!this.following.delete(entry)) return
      this.reconcile()
    }
  }

  /** How many streams are open now (retiring ones included). */
  get openStreams(): number {
    return this.streams.length + this.retiring.length
  }

  /** Open the streams the union of followed runs needs; retire the others. */
  private reconcile(): void {
    const union = new Set<string>()
    for (const entry of this.following) for (const id of entry.runs) union.add(id)
    const ids = [...union].sort()
    const wanted: string[][] = []
    for (let i = 0; i < ids.length; i += RUNS_PER_STREAM) wanted.push(ids.slice(i, i + RUNS_PER_STREAM))
    const keys = new Set(wanted.map((chunk) => chunk.join(',')))
    if (keys.size === this.streams.length && this.streams.every((stream) => keys.has(stream.key))) return

    const kept = this.streams.filter((stream) => keys.has(stream.key))
    const dropped = this.streams.filter((stream) => !keys.has(stream.key))
    const have = new Set(kept.map((stream) => stream.key))
    const added = wanted.filter((chunk) => !have.has(chunk.join(','))).map((chunk) => this.start(chunk))
    this.streams = [...kept, ...added]
    if (added.length === 0) {
      // Nothing new to wait for: the union only shrank.
      for (const stream of dropped) stream.source.close()
    } else {
      this.retiring.push(...dropped)
    }
    this.closeRetiredWhenOpen()
  }

  private start(chunk: string[]): Stream {
    const key = chunk.join(',')
    const source = this.open(`/api/runs/stream?runs=${encodeURIComponent(key)}`)
    const stream: Stream = { key, runs: new Set(chunk), source, opened: false }
    source.addEventListener('history', (event) => {
      if (!this.streams.includes(stream) && !this.retiring.includes(stream)) return
      const data = JSON.parse(event.data) as { run_id: string; rows: LiveRow[] }
      for (const entry of [...this.following]) if (entry.runs.has(data.run_id)) entry.listener.rows(data.run_id, data.rows)
    })
    source.addEventListener('gap', (event) => {
      if (!this.streams.includes(stream) && !this.retiring.includes(stream)) return
      const { runs } = JSON.parse(event.data) as { runs: string[] }
      this.tellMissed(runs)
    })
    source.addEventListener('open', () => {
      if (!this.streams.includes(stream)) return
      // A reconnect: whatever was logged while the stream was down is missing.
      if (stream.opened) this.tellMissed([...stream.runs])
      stream.opened = true
      this.closeRetiredWhenOpen()
    })
    return stream
  }

  private tellMissed(runIds: readonly string[]): void {
    for (const entry of [...this.following]) {
      const mine = runIds.filter((id) => entry.runs.has(id))
      if (mine.length) entry.listener.missed(mine)
    }
  }

  private closeRetiredWhenOpen(): void {
    if (this.retiring.length === 0 || !this.streams.every((stream) => stream.opened)) return
    for (const stream of this.retiring) stream.source.close()
    this.retiring = []
  }
}

/** The page's streams. */
export const runStreams = new RunStreams()
