import { describe, expect, it } from 'vitest'

import { alignLines, insertPoint, pairByStep, RunSeries, runsQuery, smooth } from '../src/panels/chartData'

describe('RunSeries', () => {
  it('keeps the requested metrics of a history answer', () => {
    const run = RunSeries.fromHistory(
      { run_id: 'r1', series: { loss: { steps: [0, 1], values: [1, 0.5] }, acc: { steps: [0], values: [0.1] } } },
      ['loss', 'missing'],
    )
    expect([...run.byMetric.keys()]).toEqual(['loss'])
    expect(run.byMetric.get('loss')).toEqual({ steps: [0, 1], values: [1, 0.5] })
  })

  it('extends series with live rows and says whether a shown metric changed', () => {
    const run = new RunSeries()
    expect(run.addRows([{ step: 0, metrics: { other: 1 } }], ['loss'])).toBe(false)
    expect(run.addRows([{ step: 0, metrics: { loss: 1 } }, { step: 1, metrics: { loss: 0.5, other: 3 } }], ['loss'])).toBe(true)
    expect(run.byMetric.get('loss')).toEqual({ steps: [0, 1], values: [1, 0.5] })
  })
})

describe('insertPoint', () => {
  it('appends, inserts in order and replaces a logged step', () => {
    const series = { steps: [1, 5], values: [10, 50] }
    insertPoint(series, 7, 70)
    insertPoint(series, 3, 30)
    insertPoint(series, 5, 55)
    insertPoint(series, 0, 0)
    expect(series).toEqual({ steps: [0, 1, 3, 5, 7], values: [0, 10, 30, 55, 70] })
  })
})

describe('smooth', () => {
  it('is the identity without smoothing', () => {
    expect(smooth([1, null, 3], 0)).toEqual([1, null, 3])
  })

  it('is a debiased moving average that skips gaps', () => {
    const out = smooth([1, null, 3], 0.5)
    expect(out[0]).toBeCloseTo(1)
    expect(out[1]).toBeNull()
    // (0.5 * 0.5 + 0.5 * 3) / (1 - 0.25) = 1.75 / 0.75
    expect(out[2]).toBeCloseTo(1.75 / 0.75)
  })
})

describe('alignLines', () => {
  it('puts every line on the union of steps with gaps as null', () => {
    const data = alignLines([
      { label: 'a', series: { steps: [0, 2], values: [1, 3] } },
      { label: 'b', series: { steps: [1, 2], values: [10, 30] } },
    ])
    expect(data).toEqual([
      [0, 1, 2],
      [1, null, 3],
      [null, 10, 30],
    ])
  })

  it('handles no lines', () => {
    expect(alignLines([])).toEqual([[]])
  })

  it('leaves out what a log scale cannot show', () => {
    expect(alignLines([{ label: 'a', series: { steps: [0, 1, 2], values: [1, 0, -1] } }], 0, true)).toEqual([[0, 1, 2], [1, null, null]])
  })
})

describe('pairByStep', () => {
  it('pairs the values logged at the same steps, sorted by x', () => {
    const x = { steps: [0, 1, 2, 3], values: [0.5, 0.25, 1, 2] }
    const y = { steps: [0, 1, 3, 4], values: [10, 20, 30, 40] }
    expect(pairByStep(x, y)).toEqual({ steps: [0.25, 0.5, 2], values: [20, 10, 30] })
  })
})

describe('runsQuery', () => {
  it('encodes each condition as one query part', () => {
    expect(runsQuery(['state=running,finished', ' summary.loss<0.5 ', ''], 20)).toBe(
      'state%3Drunning%2Cfinished&summary.loss%3C0.5&limit=20',
    )
  })
})
