import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import type { HistoryBody } from '../src/panels/chartData'
import type { RunsetSpec } from '../src/panels/gridModel'
import { GridRuns, type ChangedKeys } from '../src/panels/runData'
import { OPEN_WAIT_MS, RunStreams, type EventSourceLike } from '../src/panels/runStream'

/**
 * Stands in for the browser's EventSource: tests push events into it. Unless
 * told otherwise it opens as soon as its listeners are in place, as a real one
 * does once the server answers.
 */
class FakeEventSource implements EventSourceLike {
  static made: FakeEventSource[] = []
  closed = false
  private readonly handlers = new Map<string, Array<(event: MessageEvent<string>) => void>>()
  constructor(
    readonly url: string,
    opens = true,
  ) {
    FakeEventSource.made.push(this)
    if (opens) queueMicrotask(() => this.emit('open'))
  }
  addEventListener(type: string, handler: (event: MessageEvent<string>) => void): void {
    this.handlers.set(type, [...(this.handlers.get(type) ?? []), handler])
  }
  emit(type: string, data: unknown = null): void {
    for (const handler of this.handlers.get(type) ?? []) handler({ data: JSON.stringify(data) } as MessageEvent<string>)
  }
  close(): void {
    this.closed = true
  }
}

const RUN = { id: 'r1', project: 'mnist', name: 'baseline', state: 'running', config: {}, summary: {} }

function answer(body: unknown): Response {
  return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } })
}

const runset = (frozen: boolean): RunsetSpec => ({ id: 's1', name: 'mnist', project: 'mnist', filters: ['tag=a'], runIds: [], frozen })

describe('GridRuns', () => {
  const requested: string[] = []

  beforeEach(() => {
    FakeEventSource.made = []
    requested.length = 0
    vi.stubGlobal('EventSource', FakeEventSource)
    vi.stubGlobal('document', { cookie: '' })
    vi.stubGlobal('window', { setTimeout: () => 0, clearTimeout: () => undefined })
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string) => {
        requested.push(url)
        if (url.startsWith('/api/projects/')) return answer({ runs: [RUN] })
        if (url.endsWith('/metrics')) return answer({ run_id: 'r1', keys: ['acc', 'loss'] })
        return answer({ run_id: 'r1', series: { loss: { steps: [0, 1], values: [1, 0.5] } } })
      }),
    )
  })

  afterEach(() => vi.unstubAllGlobals())

  it('loads the runs and their history, and follows the stream', async () => {
    const runs = new GridRuns()
    let changes = 0
    runs.onChange(() => changes++)
    await runs.load([runset(false)], ['loss'])
    expect(requested).toEqual(['/api/projects/mnist/runs?tag%3Da&limit=50', '/api/runs/r1/history?keys=loss&max_points=1000'])
    expect(runs.series.get('r1')?.byMetric.get('loss')?.steps).toEqual([0, 1])
    expect(FakeEventSource.made.map((s) => s.url)).toEqual(['/api/runs/stream?runs=r1'])

    const before = changes
    FakeEventSource.made[0].emit('history', { run_id: 'r1', rows: [{ step: 2, timestamp: 0, metrics: { loss: 0.25 } }] })
    expect(runs.series.get('r1')?.byMetric.get('loss')).toEqual({ steps: [0, 1, 2], values: [1, 0.5, 0.25] })
    expect(changes).toBe(before + 1)
    runs.stop()
    expect(FakeEventSource.made[0].closed).toBe(true)
  })

  it('does not follow a frozen run set', async () => {
    const runs = new GridRuns()
    await runs.load([runset(true)], ['loss'])
    expect(runs.runs.map((r) => r.id)).toEqual(['r1'])
    expect(FakeEventSource.made).toEqual([])
    runs.stop()
  })

  it('loads only the history of newly wanted keys, and says which keys changed', async () => {
    const runs = new GridRuns()
    const heard: (string[] | null)[] = []
    runs.onChange((changed) => heard.push(changed && [...changed].sort()))
    await runs.load([runset(false)], ['loss'])
    requested.length = 0
    await runs.want(['loss', 'acc'])
    expect(requested).toEqual(['/api/runs/r1/history?keys=acc&max_points=1000'])
    expect(runs.metricKeys).toEqual(['loss', 'acc'])
    await runs.want(['acc'])
    expect(requested).toHaveLength(1)

    FakeEventSource.made[0].emit('history', { run_id: 'r1', rows: [{ step: 3, timestamp: 0, metrics: { acc: 0.9, other: 1 } }] })
    expect(heard).toEqual([null, ['acc'], ['acc']])
    // What was loaded before stays.
    expect(runs.series.get('r1')?.byMetric.get('loss')?.steps).toEqual([0, 1])
    expect(runs.loaded).toBe(true)
    runs.stop()
  })

  it('discovers the metrics and config keys of the runs, once per load', async () => {
    const runs = new GridRuns()
    await runs.load([runset(true)], ['loss'])
    requested.length = 0
    const first = await runs.discover()
    await runs.discover()
    expect(first).toEqual({ metrics: ['acc', 'loss'], configKeys: [] })
    // The names alone, not a read of every series.
    expect(requested).toEqual(['/api/runs/r1/metrics'])
    runs.stop()
  })
})

/** What a fake produced, in order, handed to whoever awaits the next one. */
class Arrivals<T> {
  private readonly items: T[] = []
  private readonly takers: Array<(item: T) => void> = []

  push(item: T): void {
    const taker = this.takers.shift()
    if (taker) taker(item)
    else this.items.push(item)
  }

  next(): Promise<T> {
    if (this.items.length) return Promise.resolve(this.items.shift() as T)
    return new Promise((resolve) => this.takers.push(resolve))
  }
}

/** A history request the test answers when it chooses. */
interface HeldRead {
  url: string
  answer(steps: number[]): void
}

const lossHistory = (steps: number[]): HistoryBody => ({ run_id: 'r1', series: { loss: { steps, values: steps.map((step) => 1 / (step + 1)) } } })

const lossRow = (step: number) => ({ step, metrics: { loss: 1 / (step + 1) } })

/**
 * A server whose history answers wait for the test, and streams that open
 * only when the test says so. `log` holds requests, streams made and opens in
 * the order they happened.
 */
function heldServer() {
  const log: string[] = []
  /** What the project's runs list answers. */
  const listed = [RUN]
  const reads = new Arrivals<HeldRead>()
  const sources = new Arrivals<FakeEventSource>()
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string) => {
      log.push(url)
      if (url.startsWith('/api/projects/')) return answer({ runs: listed })
      if (!url.includes('/history?')) return answer({ ...RUN, id: url.split('/').pop() })
      return new Promise<Response>((resolve) => reads.push({ url, answer: (steps) => resolve(answer(lossHistory(steps))) }))
    }),
  )
  const streams = new RunStreams((url) => {
    log.push(`stream ${url}`)
    const source = new FakeEventSource(url, false)
    sources.push(source)
    return source
  })
  const open = (source: FakeEventSource): void => {
    log.push('open')
    source.emit('open')
  }
  /** The next stream made, opened. */
  const opened = async (): Promise<FakeEventSource> => {
    const source = await sources.next()
    open(source)
    return source
  }
  return { log, listed, reads, sources, streams, open, opened }
}

/** A grid on `server`, loading the `loss` of one run set. */
function loadGrid(server: ReturnType<typeof heldServer>, frozen = false) {
  const runs = new GridRuns(server.streams)
  return { runs, loading: runs.load([runset(frozen)], ['loss']) }
}

/** The next change the grid announces. */
function nextChange(runs: GridRuns): Promise<ChangedKeys> {
  return new Promise((resolve) => {
    const off = runs.onChange((changed) => {
      off()
      resolve(changed)
    })
  })
}

const LIST = '/api/projects/mnist/runs?tag%3Da&limit=50'
const HISTORY = '/api/runs/r1/history?keys=loss&max_points=1000'

describe('GridRuns with a live stream', () => {
  beforeEach(() => {
    FakeEventSource.made = []
    vi.stubGlobal('document', { cookie: '' })
    vi.stubGlobal('window', { setTimeout: () => 0, clearTimeout: () => undefined })
    // Only the stream's wait is on a timer: nothing in these tests passes time unless told to.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
  })

  afterEach(() => {
    vi.useRealTimers()
    vi.unstubAllGlobals()
  })

  it('reads the history only once the stream is open', async () => {
    const server = heldServer()
    const { runs, loading } = loadGrid(server)
    const source = await server.sources.next()
    // Nearly the whole wait passes: still no history read.
    await vi.advanceTimersByTimeAsync(OPEN_WAIT_MS - 1)
    expect(server.log).toEqual([LIST, 'stream /api/runs/stream?runs=r1'])
    server.open(source)
    ;(await server.reads.next()).answer([0, 1])
    await loading
    expect(server.log).toEqual([LIST, 'stream /api/runs/stream?runs=r1', 'open', HISTORY])
    expect(runs.series.get('r1')?.byMetric.get('loss')?.steps).toEqual([0, 1])
    expect(runs.loaded).toBe(true)
    runs.stop()
  })

  it('keeps the rows the stream delivers while the history is read', async () => {
    const server = heldServer()
    const { runs, loading } = loadGrid(server)
    const source = await server.opened()
    const read = await server.reads.next()
    source.emit('history', { run_id: 'r1', rows: [lossRow(2)] })
    // Not drawn alone: the run would look as if it had logged that step only.
    expect(runs.series.get('r1')?.byMetric.get('loss')).toBeUndefined()
    // The server read before step 2 was logged.
    read.answer([0, 1])
    await loading
    expect(runs.series.get('r1')?.byMetric.get('loss')?.steps).toEqual([0, 1, 2])
    runs.stop()
  })

  it('keeps them too when it reads again after missed rows', async () => {
    const server = heldServer()
    const { runs, loading } = loadGrid(server)
    const source = await server.opened()
    ;(await server.reads.next()).answer([0, 1])
    await loading
    source.emit('gap', { runs: ['r1'] })
    const again = await server.reads.next()
    source.emit('history', { run_id: 'r1', rows: [lossRow(5)] })
    const reread = nextChange(runs)
    again.answer([0, 1, 2, 3])
    expect(await reread).toEqual(new Set(['loss']))
    expect(runs.series.get('r1')?.byMetric.get('loss')?.steps).toEqual([0, 1, 2, 3, 5])
    runs.stop()
  })

  it('does not let an answer read earlier replace one read later', async () => {
    const server = heldServer()
    const { runs, loading } = loadGrid(server)
    const source = await server.opened()
    ;(await server.reads.next()).answer([0])
    await loading
    source.emit('gap', { runs: ['r1'] })
    const earlier = await server.reads.next()
    source.emit('gap', { runs: ['r1'] })
    const later = await server.reads.next()
    const first = nextChange(runs)
    later.answer([0, 1, 2, 3])
    await first
    const second = nextChange(runs)
    earlier.answer([0, 1])
    await second
    expect(runs.series.get('r1')?.byMetric.get('loss')?.steps).toEqual([0, 1, 2, 3])
    runs.stop()
  })

  it('reads the history anyway when the stream does not open in time, and again once it does', async () => {
    const server = heldServer()
    const { runs, loading } = loadGrid(server)
    const late = await server.sources.next()
    await vi.advanceTimersByTimeAsync(OPEN_WAIT_MS)
    const read = await server.reads.next()
    expect(read.url).toBe(HISTORY)
    read.answer([0, 1])
    await loading
    expect(runs.series.get('r1')?.byMetric.get('loss')?.steps).toEqual([0, 1])
    // What was logged between that read and the open is missing: read again.
    server.open(late)
    const reread = nextChange(runs)
    ;(await server.reads.next()).answer([0, 1, 2])
    await reread
    expect(runs.series.get('r1')?.byMetric.get('loss')?.steps).toEqual([0, 1, 2])
    runs.stop()
  })

  it('reads the history at once when the stream fails to open', async () => {
    const server = heldServer()
    const { runs, loading } = loadGrid(server)
    ;(await server.sources.next()).emit('error')
    ;(await server.reads.next()).answer([0, 1])
    await loading
    expect(server.log).toEqual([LIST, 'stream /api/runs/stream?runs=r1', HISTORY])
    expect(runs.loaded).toBe(true)
    runs.stop()
  })

  it('loads frozen run sets without a stream to wait for', async () => {
    const server = heldServer()
    const { runs, loading } = loadGrid(server, true)
    ;(await server.reads.next()).answer([0, 1])
    await loading
    expect(server.log).toEqual([LIST, HISTORY])
    expect(server.streams.openStreams).toBe(0)
    runs.stop()
  })

  it('follows runs that start later before reading their history, and not the frozen ones', async () => {
    const relists: Array<() => void> = []
    vi.stubGlobal('window', { setTimeout: (relist: () => void) => relists.push(relist), clearTimeout: () => undefined })
    const server = heldServer()
    const runs = new GridRuns(server.streams)
    const frozen: RunsetSpec = { id: 's0', name: 'old', project: '', filters: [], runIds: ['f1'], frozen: true }
    const loading = runs.load([frozen, runset(false)], ['loss'])
    const first = await server.sources.next()
    expect(first.url).toBe('/api/runs/stream?runs=r1')
    server.open(first)
    for (let i = 0; i < 2; i++) (await server.reads.next()).answer([0, 1])
    await loading

    server.listed.push({ ...RUN, id: 'r2' })
    server.log.length = 0
    relists[0]()
    const second = await server.sources.next()
    await vi.advanceTimersByTimeAsync(OPEN_WAIT_MS - 1)
    expect(server.log).toEqual([LIST, `stream /api/runs/stream?runs=${encodeURIComponent('r1,r2')}`])
    server.open(second)
    const relisted = nextChange(runs)
    const read = await server.reads.next()
    expect(read.url).toBe('/api/runs/r2/history?keys=loss&max_points=1000')
    read.answer([0])
    expect(await relisted).toBeNull()
    expect(runs.runs.map((run) => run.id)).toEqual(['f1', 'r1', 'r2'])
    runs.stop()
  })
})
