import { afterEach, describe, expect, it, vi } from 'vitest'

import type { LiveRow } from '../src/panels/chartData'
import { OPEN_WAIT_MS, RunStreams, type EventSourceLike, type StreamListener } from '../src/panels/runStream'

/** Stands in for the browser's EventSource: tests push events into it. */
class FakeSource implements EventSourceLike {
  closed = false
  private readonly handlers = new Map<string, Array<(event: MessageEvent<string>) => void>>()
  constructor(readonly url: string) {}
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

function setup() {
  const made: FakeSource[] = []
  const streams = new RunStreams((url) => {
    const source = new FakeSource(url)
    made.push(source)
    return source
  })
  const open = () => made.filter((s) => !s.closed).map((s) => decodeURIComponent(s.url.split('runs=')[1]))
  return { streams, made, open }
}

function listener() {
  const rows: Array<[string, number[]]> = []
  const missed: string[][] = []
  const target: StreamListener = {
    rows: (runId: string, r: LiveRow[]) => rows.push([runId, r.map((row) => row.step)]),
    missed: (ids: string[]) => missed.push(ids),
  }
  return { rows, missed, target }
}

const row = (step: number): LiveRow => ({ step, metrics: { loss: 1 / (step + 1) } })

/** Whether `promise` has settled, once the reactions already due have run. */
async function settled(promise: Promise<void>): Promise<boolean> {
  let done = false
  void promise.then(() => {
    done = true
  })
  await Promise.resolve()
  await Promise.resolve()
  return done
}

describe('RunStreams', () => {
  it('opens one stream for every grid that follows the same runs, and gives each its rows', () => {
    const { streams, made, open } = setup()
    const grids = Array.from({ length: 10 }, () => listener())
    const followed = grids.map((grid) => streams.follow(['r1', 'r2'], grid.target))
    expect(open()).toEqual(['r1,r2'])
    made[0].emit('open')
    made[0].emit('history', { run_id: 'r2', rows: [row(5)] })
    for (const grid of grids) expect(grid.rows).toEqual([['r2', [5]]])
    for (const grid of followed.slice(0, 9)) grid.stop()
    expect(open()).toEqual(['r1,r2'])
    followed[9].stop()
    expect(open()).toEqual([])
  })

  it('routes rows to the grids that follow their run', () => {
    const { streams, made, open } = setup()
    const a = listener()
    const b = listener()
    streams.follow(['r1'], a.target)
    made[0].emit('open')
    streams.follow(['r2'], b.target)
    expect(open()).toEqual(['r1', 'r1,r2'])
    // The old stream closes once the new one is open; both deliver until then.
    made[1].emit('open')
    expect(open()).toEqual(['r1,r2'])
    made[1].emit('history', { run_id: 'r1', rows: [row(1)] })
    made[1].emit('history', { run_id: 'r2', rows: [row(2)] })
    expect(a.rows).toEqual([['r1', [1]]])
    expect(b.rows).toEqual([['r2', [2]]])
  })

  it('asks the grids of a stream to re-read their runs after a reconnect or a gap', () => {
    const { streams, made } = setup()
    const a = listener()
    const b = listener()
    streams.follow(['r1', 'r2'], a.target)
    streams.follow(['r2'], b.target)
    made.at(-1)!.emit('open')
    expect(a.missed).toEqual([])
    made.at(-1)!.emit('open')
    expect(a.missed).toEqual([['r1', 'r2']])
    expect(b.missed).toEqual([['r2']])
    made.at(-1)!.emit('gap', { runs: ['r1'] })
    expect(a.missed).toEqual([['r1', 'r2'], ['r1']])
    expect(b.missed).toEqual([['r2']])
  })

  it('splits more than 100 runs over streams of 100', () => {
    const { streams, open } = setup()
    const ids = Array.from({ length: 150 }, (_, i) => `r${String(i).padStart(3, '0')}`)
    const { stop } = streams.follow(ids, listener().target)
    expect(open().map((runs) => runs.split(',').length)).toEqual([100, 50])
    expect(streams.openStreams).toBe(2)
    stop()
    expect(streams.openStreams).toBe(0)
  })

  describe('ready', () => {
    afterEach(() => vi.useRealTimers())

    it('settles once the streams of the runs are open, the new one when the union changed', async () => {
      const { streams, made } = setup()
      const a = streams.follow(['r1'], listener().target)
      expect(await settled(a.ready)).toBe(false)
      made[0].emit('open')
      expect(await settled(a.ready)).toBe(true)
      // r1 moves to a new stream; r2 is carried only once that one is open.
      const b = streams.follow(['r2'], listener().target)
      made[0].emit('open')
      expect(await settled(b.ready)).toBe(false)
      made[1].emit('open')
      expect(await settled(b.ready)).toBe(true)
      // Runs a stream already open carries: nothing to wait for.
      expect(await settled(streams.follow(['r1', 'r2'], listener().target).ready)).toBe(true)
    })

    it('settles after OPEN_WAIT_MS; that follower hears of missed rows when the stream opens', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
      const { streams, made } = setup()
      const early = listener()
      const waited = listener()
      const a = streams.follow(['r1', 'r2'], early.target)
      vi.advanceTimersByTime(OPEN_WAIT_MS - 1)
      expect(await settled(a.ready)).toBe(false)
      vi.advanceTimersByTime(1)
      expect(await settled(a.ready)).toBe(true)
      const b = streams.follow(['r2'], waited.target)
      made[0].emit('open')
      expect(await settled(b.ready)).toBe(true)
      // `early` read its history without the stream, `waited` with it.
      expect(early.missed).toEqual([['r1', 'r2']])
      expect(waited.missed).toEqual([])
      // Once told, the next open is an ordinary reconnect.
      made[0].emit('open')
      expect(early.missed).toEqual([['r1', 'r2'], ['r1', 'r2']])
      expect(waited.missed).toEqual([['r2']])
    })

    it('settles when a stream fails to open, and when the follower stops', async () => {
      const { streams, made } = setup()
      const failing = listener()
      const a = streams.follow(['r1'], failing.target)
      made[0].emit('error')
      expect(await settled(a.ready)).toBe(true)
      // EventSource retried and got through.
      made[0].emit('open')
      expect(failing.missed).toEqual([['r1']])
      // A drop after the open is not a failure to open: a new follower waits for nothing.
      made[0].emit('error')
      expect(await settled(streams.follow(['r1'], listener().target).ready)).toBe(true)

      const stopped = streams.follow(['r9'], listener().target)
      expect(await settled(stopped.ready)).toBe(false)
      stopped.stop()
      expect(await settled(stopped.ready)).toBe(true)
    })
  })
})
