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
 *
 * The stream does not replay: a row reaches a grid only if it was logged after
 * the server subscribed to its run, which it has done once the stream is open.
 * So a grid follows its runs first and reads their history once `ready` says
 * the streams are open; read the other way round, whatever the runs logged
 * between the read and the subscription would be missing from the charts. A
 * stream that fails or is slow to open must not keep the charts empty: `ready`
 * then settles anyway, and when that stream does open, its followers are told
 * those runs were missed, as after a reconnect.
 */

import type { LiveRow } from './chartData'

/** The stream endpoint takes at most this many runs. */
export const RUNS_PER_STREAM = 100

/** How long a follower waits for its streams to open before it reads history anyway. */
export const OPEN_WAIT_MS = 5_000

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

/** What `follow` returns. */
export interface Followed {
  /**
   * Settles once the streams of the followed runs are open, so that every row
   * logged from then on reaches the listener; or, at the latest, when one of
   * them failed to open or `OPEN_WAIT_MS` passed. Never rejects.
   */
  readonly ready: Promise<void>
  /** Stop receiving rows (settles `ready` if it has not). */
  stop(): void
}

interface Following {
  runs: ReadonlySet<string>
  listener: StreamListener
  /** Settles `ready`; null once it has. */
  settle: (() => void) | null
  /**
   * Runs whose streams were not open when this follower stopped waiting: it
   * read their history without the stream, so their first open is a reconnect.
   */
  unsure: Set<string>
}

interface Stream {
  /** Its runs, sorted and joined: which streams to keep is decided by this key. */
  key: string
  runs: ReadonlySet<string>
  source: EventSourceLike
  opened: boolean
  /** It failed before it ever opened (EventSource may still retry and open later). */
  failed: boolean
}

export class RunStreams {
  private readonly following = new Set<Following>()
  private streams: Stream[] = []
  /** Streams replaced by `streams`, closed once every one of those has opened. */
  private retiring: Stream[] = []

  constructor(
    private readonly open: (url: string) => EventSourceLike = (url) => new EventSource(url),
    private readonly openWaitMs: number = OPEN_WAIT_MS,
  ) {}

  /** Receive the rows of `runIds` until `stop` is called. */
  follow(runIds: readonly string[], listener: StreamListener): Followed {
    const entry: Following = { runs: new Set(runIds), listener, settle: null, unsure: new Set() }
    const ready = new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.stopWaiting(entry), this.openWaitMs)
      entry.settle = () => {
        entry.settle = null
        clearTimeout(timer)
        resolve()
      }
    })
    this.following.add(entry)
    this.reconcile()
    const stop = (): void => {
      entry.settle?.()
      if (!this.following.delete(entry)) return
      this.reconcile()
    }
    return { ready, stop }
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
    if (keys.size === this.streams.length && this.streams.every((stream) => keys.has(stream.key))) {
      // Same streams; a new follower of runs they carry may be ready already.
      this.settleReady()
      return
    }

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
    this.settleReady()
  }

  private start(chunk: string[]): Stream {
    const key = chunk.join(',')
    const source = this.open(`/api/runs/stream?runs=${encodeURIComponent(key)}`)
    const stream: Stream = { key, runs: new Set(chunk), source, opened: false, failed: false }
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
      this.tellOpened(stream)
      stream.opened = true
      this.closeRetiredWhenOpen()
      this.settleReady()
    })
    // Only a failure to open matters here: after an open, EventSource reconnects by itself.
    source.addEventListener('error', () => {
      if (stream.opened || !this.streams.includes(stream)) return
      stream.failed = true
      this.settleReady()
    })
    return stream
  }

  /**
   * Tell the followers what may be missing now that `stream` is open: after a
   * reconnect, whatever was logged while it was down; on its first open, the
   * rows of runs whose history a follower read before then.
   */
  private tellOpened(stream: Stream): void {
    for (const entry of [...this.following]) {
      const mine = [...stream.runs].filter((id) => entry.runs.has(id) && (stream.opened || entry.unsure.has(id)))
      for (const id of mine) entry.unsure.delete(id)
      if (mine.length) entry.listener.missed(mine)
    }
  }

  /** The current streams that carry any of `runs`. */
  private carrying(runs: ReadonlySet<string>): Stream[] {
    return this.streams.filter((stream) => [...stream.runs].some((id) => runs.has(id)))
  }

  /** Settle the `ready` of followers whose streams are all open, or one of which failed. */
  private settleReady(): void {
    for (const entry of this.following) {
      if (!entry.settle) continue
      const streams = this.carrying(entry.runs)
      if (streams.every((stream) => stream.opened)) entry.settle()
      else if (streams.some((stream) => stream.failed && !stream.opened)) this.stopWaiting(entry)
    }
  }

  /** Let `entry` read history before its streams are open; their first open then counts as a reconnect. */
  private stopWaiting(entry: Following): void {
    if (!entry.settle) return
    for (const stream of this.carrying(entry.runs)) {
      if (!stream.opened) for (const id of stream.runs) if (entry.runs.has(id)) entry.unsure.add(id)
    }
    entry.settle()
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
