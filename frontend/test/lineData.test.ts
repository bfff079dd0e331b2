import { describe, expect, it } from 'vitest'

import type { Series } from '../src/panels/chartData'
import { planLines, usesStep, type LineOptions } from '../src/panels/lineData'

const runs = [
  { id: 'r1', name: 'one', config: { lr: 0.1 } },
  { id: 'r2', name: 'two', config: { lr: 0.1 } },
  { id: 'r3', name: 'three', config: { lr: 0.01 } },
]
const data: Record<string, Record<string, Series>> = {
  r1: { loss: { steps: [0, 1, 2], values: [4, 2, 1] }, epoch: { steps: [0, 2], values: [0, 1] } },
  r2: { loss: { steps: [0, 1, 2], values: [6, 4, 3] } },
  r3: { loss: { steps: [0, 2], values: [1, -1] } },
}

const options = (over: Partial<LineOptions> = {}): LineOptions => ({
  runs,
  metrics: ['loss'],
  seriesOf: (run, metric) => data[run]?.[metric],
  xAxis: 'step',
  smoothing: 0,
  logScale: false,
  groupBy: null,
  aggregate: 'mean',
  band: 'min_max',
  color: (i) => `c${i}`,
  ...over,
})

describe('planLines', () => {
  it('draws one line per run on the union of steps, counting the logged points', () => {
    const plan = planLines(options())
    expect(plan.xs).toEqual([0, 1, 2])
    expect(plan.series.map((s) => [s.label, s.color, s.values])).toEqual([
      ['one', 'c0', [4, 2, 1]],
      ['two', 'c1', [6, 4, 3]],
      ['three', 'c2', [1, null, -1]],
    ])
    expect(plan.points).toBe(8)
    expect(plan.bands).toEqual([])
  })

  it('names lines by run and metric when there are several metrics', () => {
    const plan = planLines(options({ runs: runs.slice(0, 1), metrics: ['loss', 'epoch'] }))
    expect(plan.series.map((s) => s.label)).toEqual(['one · loss', 'one · epoch'])
  })

  it('smooths each line with the debiased EMA', () => {
    const plan = planLines(options({ runs: runs.slice(0, 1), smoothing: 0.5 }))
    const [a, b] = plan.series[0].values as number[]
    expect(a).toBeCloseTo(4)
    // (0.5 * 0.5 * 4 + 0.5 * 2) / (1 - 0.25)
    expect(b).toBeCloseTo((0.5 * 0.5 * 4 + 0.5 * 2) / 0.75)
  })

  it('drops values a log scale cannot show', () => {
    const plan = planLines(options({ runs: runs.slice(2), logScale: true }))
    expect(plan.series[0].values).toEqual([1, null])
  })

  it('plots against another metric, joined on the step', () => {
    const plan = planLines(options({ runs: runs.slice(0, 1), xAxis: 'epoch' }))
    expect(plan.xLabel).toBe('epoch')
    expect(plan.xs).toEqual([0, 1])
    expect(plan.series[0].values).toEqual([4, 1])
    expect(plan.points).toBe(2)
  })

  it('groups runs by a config key: a mean line and its min-max band per group', () => {
    const plan = planLines(options({ groupBy: 'config.lr' }))
    // Groups in order of value.
    expect(plan.series.map((s) => [s.label, s.role])).toEqual([
      ['lr=0.01 (1)', 'line'],
      ['lr=0.01 (1) low', 'lo'],
      ['lr=0.01 (1) high', 'hi'],
      ['lr=0.1 (2)', 'line'],
      ['lr=0.1 (2) low', 'lo'],
      ['lr=0.1 (2) high', 'hi'],
    ])
    // run three has no step 1: interpolated between its points.
    expect(plan.series[0].values).toEqual([1, 0, -1])
    expect(plan.series[3].values).toEqual([5, 3, 2])
    expect(plan.series[4].values).toEqual([4, 2, 1])
    expect(plan.series[5].values).toEqual([6, 4, 3])
    expect(plan.bands).toEqual([
      [2, 1],
      [5, 4],
    ])
    // Band edges share their line's legend entry, so hiding a group hides its band.
    expect(new Set(plan.series.slice(0, 3).map((s) => s.legendKey)).size).toBe(1)
  })

  it('draws only the aggregate when the band is none, and the median when asked', () => {
    const plan = planLines(options({ runs: runs.slice(0, 2), groupBy: 'lr', aggregate: 'median', band: 'none' }))
    expect(plan.series.map((s) => s.role)).toEqual(['line'])
    expect(plan.series[0].values).toEqual([5, 3, 2])
  })

  it('knows which x axes are the step', () => {
    expect([usesStep('step'), usesStep(''), usesStep('config.lr'), usesStep('epoch')]).toEqual([true, true, true, false])
  })
})
