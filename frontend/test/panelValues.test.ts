import { describe, expect, it } from 'vitest'

import type { Series } from '../src/panels/chartData'
import { barData, barScale, formatNumber, latestValue, scalarValue, scatterPoints, type ValueRun } from '../src/panels/panelValues'

const runs: ValueRun[] = [
  { id: 'r1', name: 'one', config: { lr: 0.1, opt: 'adam' }, summary: { acc: 0.9 } },
  { id: 'r2', name: 'two', config: { lr: '0.01' }, summary: {} },
  { id: 'r3', name: 'three', config: { lr: 0.1 }, summary: { acc: 'n/a' } },
]
const history: Record<string, Record<string, Series>> = {
  r1: { acc: { steps: [0, 5], values: [0.5, 0.8] }, loss: { steps: [0, 5], values: [2, 1] } },
  r2: { acc: { steps: [0, 3], values: [0.4, 0.6] }, loss: { steps: [0, 3, 7], values: [3, 2, Number.NaN] } },
  r3: { acc: { steps: [0], values: [0.7] } },
}
const seriesOf = (run: string, metric: string) => history[run]?.[metric]

describe('latestValue', () => {
  it('prefers a numeric summary, else the last finite logged point', () => {
    expect(latestValue(runs[0], 'acc', seriesOf)).toBe(0.9)
    expect(latestValue(runs[1], 'acc', seriesOf)).toBe(0.6)
    expect(latestValue(runs[2], 'acc', seriesOf)).toBe(0.7)
    expect(latestValue(runs[1], 'loss', seriesOf)).toBe(2)
    expect(latestValue(runs[2], 'loss', seriesOf)).toBeNull()
  })
})

describe('barData', () => {
  it('gives one bar per run with a value', () => {
    const bars = barData(runs, { metric: 'loss', seriesOf, groupBy: null, aggregate: 'mean', band: 'none' })
    expect(bars.map((b) => [b.key, b.value, b.index])).toEqual([
      ['r1', 1, 0],
      ['r2', 2, 1],
    ])
  })

  it('gives one bar per group: the aggregate of its runs with a band', () => {
    const bars = barData(runs, { metric: 'acc', seriesOf, groupBy: 'config.lr', aggregate: 'mean', band: 'min_max' })
    expect(bars.map((b) => [b.label, b.value, b.lo, b.hi, b.runs])).toEqual([
      ['lr=0.01', 0.6, 0.6, 0.6, 1],
      ['lr=0.1', 0.8, 0.7, 0.9, 2],
    ])
  })
})

describe('barScale', () => {
  it('measures from zero to the largest value', () => {
    const scale = barScale([2, 4], false)
    expect([scale(0), scale(2), scale(4)]).toEqual([0, 0.5, 1])
  })

  it('makes room for negative values', () => {
    const scale = barScale([-2, 2], false)
    expect([scale(-2), scale(0), scale(2)]).toEqual([0, 0.5, 1])
  })

  it('measures orders of magnitude on a log scale, with the smallest bar still visible', () => {
    const scale = barScale([1, 10, 100], true)
    expect(scale(100)).toBe(1)
    expect(scale(1)).toBeGreaterThan(0)
    expect(scale(10) - scale(1)).toBeCloseTo(scale(100) - scale(10))
    expect(scale(-1)).toBe(0)
  })
})

describe('scalarValue', () => {
  it('is the latest value of a single run', () => {
    expect(scalarValue(runs.slice(0, 1), 'loss', seriesOf, 'mean')).toEqual({ value: 1, runs: 1, how: 'latest' })
  })

  it('is the mean or median across runs', () => {
    expect(scalarValue(runs, 'acc', seriesOf, 'mean').value).toBeCloseTo((0.9 + 0.6 + 0.7) / 3)
    expect(scalarValue(runs, 'acc', seriesOf, 'median')).toEqual({ value: 0.7, runs: 3, how: 'median' })
  })

  it('has no value without data', () => {
    expect(scalarValue(runs, 'missing', seriesOf, 'mean')).toEqual({ value: null, runs: 0, how: 'latest' })
  })
})

describe('scatterPoints', () => {
  it('puts a config key on x (numeric strings too) and the latest metric on y', () => {
    const { points, missing } = scatterPoints(runs, 'config.lr', 'acc', seriesOf)
    expect(points.map((p) => [p.runId, p.x, p.y])).toEqual([
      ['r1', 0.1, 0.9],
      ['r2', 0.01, 0.6],
      ['r3', 0.1, 0.7],
    ])
    expect(missing).toBe(0)
  })

  it('counts runs without a numeric x as missing', () => {
    const { points, missing } = scatterPoints(runs, 'config.opt', 'acc', seriesOf)
    expect(points).toEqual([])
    expect(missing).toBe(3)
  })

  it('uses another metric, or the last step, for x', () => {
    expect(scatterPoints(runs, 'loss', 'acc', seriesOf).points.map((p) => [p.x, p.y])).toEqual([
      [1, 0.9],
      [2, 0.6],
    ])
    expect(scatterPoints(runs, 'step', 'acc', seriesOf).points.map((p) => p.x)).toEqual([5, 3, 0])
  })
})

describe('formatNumber', () => {
  it('rounds, and switches to exponents for very large or small values', () => {
    expect([formatNumber(0.123456), formatNumber(1234), formatNumber(2e7), formatNumber(0.00001), formatNumber(0)]).toEqual(['0.1235', '1234', '2.000e+7', '1.000e-5', '0'])
  })
})
