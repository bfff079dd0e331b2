import { describe, expect, it } from 'vitest'

import { decimalsOf, formatTicks, tickAxisSize } from '../src/panels/axisTicks'

describe('formatTicks', () => {
  it('tells apart ticks of a narrow range near 1', () => {
    const ticks = [1.0002, 1.0004, 1.0006, 1.0008]
    const labels = formatTicks(ticks, 0.0002)
    expect(labels).toEqual(['1.0002', '1.0004', '1.0006', '1.0008'])
    expect(new Set(formatTicks([1.00001, 1.00002, 1.00003], 0.00001)).size).toBe(3)
  })

  it('writes the digits the increment needs, no more', () => {
    expect(formatTicks([0, 0.5, 1, 1.5], 0.5)).toEqual(['0.0', '0.5', '1.0', '1.5'])
    expect(formatTicks([0, 5000, 10000], 5000)).toEqual(['0', '5000', '10000'])
    // Float noise in uPlot's splits does not leak into the labels.
    expect(formatTicks([0.1 + 0.2, 0.6000000000000001], 0.3)).toEqual(['0.3', '0.6'])
    expect(formatTicks([-1e-17, 0.25], 0.25)).toEqual(['0.00', '0.25'])
  })

  it('uses scientific notation for very large and very small values, still distinguishable', () => {
    expect(formatTicks([2e-7, 4e-7, 6e-7], 2e-7)).toEqual(['2e-7', '4e-7', '6e-7'])
    const large = formatTicks([1.0001e10, 1.0002e10, 1.0003e10], 1e6)
    expect(new Set(large).size).toBe(3)
    expect(large[0]).toBe('1.0001e+10')
    expect(formatTicks([0, 2.5e-5, 5e-5], 2.5e-5)).toEqual(['0', '2.5e-5', '5.0e-5'])
  })

  it('keeps labels for odd input', () => {
    expect(formatTicks([1, 2], 0)).toEqual(['1', '2'])
    expect(formatTicks([], 1)).toEqual([])
  })
})

describe('decimalsOf', () => {
  it('counts the decimals of a tick increment', () => {
    expect(decimalsOf(1)).toBe(0)
    expect(decimalsOf(20)).toBe(0)
    expect(decimalsOf(0.5)).toBe(1)
    expect(decimalsOf(0.0002)).toBe(4)
    expect(decimalsOf(0.00025)).toBe(5)
  })
})

describe('tickAxisSize', () => {
  it('grows with the longest label and never shrinks below the minimum', () => {
    expect(tickAxisSize(['1', '2'], 52)).toBe(52)
    expect(tickAxisSize(['1.00002', '1.00004', null], 52)).toBeGreaterThan(52)
  })
})
