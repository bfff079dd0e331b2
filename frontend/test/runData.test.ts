import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import type { RunsetSpec } from '../src/panels/gridModel'
import { GridRuns } from '../src/panels/runData'

/** Stands in for the browser's EventSource: tests push events into it. */
class FakeEventSource {
  static made: FakeEventSource[] = []
  closed = false
  private readonly handlers = new Map<string, Array<(event: { data: string }) => void>>()
  constructor(readonly url: string) {
    FakeEventSource.made.push(this)
  }
  addEventListener(type: string, handler: (event: { data: string }) => void): void {
    this.handlers.set(type, [...(this.handlers.get(type) ?? []), handler])
  }
  emit(type: string, data: unknown): void {
    for (const handler of this.handlers.get(type) ?? []) handler({ data: JSON.stringify(data) })
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

  it('loads the runs and their history, then follows the stream', async () => {
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
