import { describe, expect, it } from 'vitest'

import { aggregateColumns, configKeys, configValue, fillInterior, groupRuns, median, numeric, std, summarize } from '../src/panels/aggregate'

describe('config values', () => {
  const config = { lr: 0.1, optim: { name: 'adam', beta: { one: 0.9 } }, 'a.b': 3 }

  it('reads a key with or without the config. prefix, and nested keys by dots', () => {
    expect(configValue(config, 'config.lr')).toBe(0.1)
    expect(configValue(config, 'lr')).toBe(0.1)
    expect(configValue(config, 'config.optim.name')).toBe('adam')
    expect(configValue(config, 'config.optim.beta.one')).toBe(0.9)
    expect(configValue(config, 'config.a.b')).toBe(3)
    expect(configValue(config, 'config.missing.x')).toBeUndefined()
  })

  it('lists every key of the runs, flattened', () => {
    expect(configKeys([{ config }, { config: { seed: 1 } }])).toEqual(['config.a.b', 'config.lr', 'config.optim.beta.one', 'config.optim.name', 'config.seed'])
  })

  it('reads numbers and numeric strings only', () => {
    expect([numeric(2), numeric('0.5'), numeric(''), numeric('adam'), numeric(true), numeric(Number.NaN)]).toEqual([2, 0.5, null, null, null, null])
  })
})

describe('groupRuns', () => {
  it('groups by value, sorted (numbers numerically, then text), runs without the key last', () => {
    const runs = [
      { id: 'a', config: { lr: 0.1 } },
      { id: 'b', config: { lr: 0.01 } },
      { id: 'c', config: { lr: 0.1 } },
      { id: 'd', config: {} },
      { id: 'e', config: { lr: 'auto' } },
      { id: 'f', config: { lr: '0.5' } },
      { id: 'g', config: { lr: 10 } },
    ]
    const groups = groupRuns(runs, 'config.lr')
    expect(groups.map((g) => [g.label, g.runs.map((r) => r.id)])).toEqual([
      ['lr=0.01', ['b']],
      ['lr=0.1', ['a', 'c']],
      ['lr=0.5', ['f']],
      ['lr=10', ['g']],
      ['lr=auto', ['e']],
      ['lr=(none)', ['d']],
    ])
  })
})

describe('summaries', () => {
  it('computes the median of odd and even counts and the population std', () => {
    expect(median([3, 1, 2])).toBe(2)
    expect(median([4, 1, 3, 2])).toBe(2.5)
    expect(std([2, 4, 4, 4, 5, 5, 7, 9])).toBe(2)
  })

  it('gives the band asked for', () => {
    expect(summarize([1, 2, 6], 'mean', 'min_max')).toEqual({ center: 3, lo: 1, hi: 6 })
    expect(summarize([1, 2, 6], 'median', 'none')).toEqual({ center: 2, lo: null, hi: null })
    const s = summarize([2, 4], 'mean', 'std')
    expect([s.center, s.lo, s.hi]).toEqual([3, 2, 4])
  })
})

describe('fillInterior', () => {
  it('interpolates gaps inside the logged range by x, and leaves the ends empty', () => {
    expect(fillInterior([0, 1, 2, 4, 5], [null, 1, null, 4, null])).toEqual([null, 1, 2, 4, null])
  })
})

describe('aggregateColumns', () => {
  it('aggregates at each x the runs that have a value there, interpolating between their points', () => {
    const xs = [0, 1, 2, 3]
    const a = [0, null, 2, null]
    const b = [10, 11, 12, 13]
    const out = aggregateColumns(xs, [a, b], 'mean', 'min_max')
    // a is interpolated to 1 at x=1, and has no value after its last point.
    expect(out.center).toEqual([5, 6, 7, 13])
    expect(out.lo).toEqual([0, 1, 2, 13])
    expect(out.hi).toEqual([10, 11, 12, 13])
  })

  it('is empty where no run has a value', () => {
    const out = aggregateColumns([0, 1], [[null, 1]], 'median', 'none')
    expect(out).toEqual({ center: [null, 1], lo: [null, null], hi: [null, null] })
  })
})
