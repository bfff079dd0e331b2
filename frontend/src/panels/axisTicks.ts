/**
 * Labels for a chart's value axis. A fixed rounding (four decimals) made every
 * tick of a narrow range read the same ("1", "1", "1" for 1.0001-1.0009), so
 * the labels take as many digits as the tick increment needs: ticks 0.0002
 * apart are written with four decimals, ticks 5,000 apart with none.
 */

/** Digits after the point that `increment` needs (0.5 → 1, 0.0002 → 4, 20 → 0). */
export function decimalsOf(increment: number): number {
  for (let decimals = 0; decimals < 16; decimals++) {
    const scaled = increment * 10 ** decimals
    if (Math.abs(scaled - Math.round(scaled)) < 1e-9 * Math.max(1, scaled)) return decimals
  }
  return 16
}

/** Significant digits of `increment`'s mantissa after the first (2 → 0, 2.5 → 1). */
function mantissaDecimals(increment: number): number {
  const exponent = Math.floor(Math.log10(increment))
  return decimalsOf(increment / 10 ** exponent)
}

/**
 * The labels of ticks `increment` apart: plain decimals with the digits the
 * increment needs, or scientific notation for very large or very small values
 * with as many mantissa digits as tell the ticks apart.
 */
export function formatTicks(ticks: readonly number[], increment: number): string[] {
  const finite = ticks.filter(Number.isFinite)
  if (finite.length === 0 || !(increment > 0) || !Number.isFinite(increment)) return ticks.map(String)
  const largest = Math.max(...finite.map(Math.abs))
  // A tick computed as 1e-17 (or -1e-17) is zero.
  const clean = (tick: number) => (Math.abs(tick) < increment / 2 ? 0 : tick)
  if (largest >= 1e9 || largest < 1e-3) {
    const digits = Math.max(0, Math.floor(Math.log10(largest)) - Math.floor(Math.log10(increment)) + mantissaDecimals(increment))
    return ticks.map((tick) => {
      if (!Number.isFinite(tick)) return String(tick)
      const value = clean(tick)
      return value === 0 ? '0' : value.toExponential(Math.min(digits, 20))
    })
  }
  const decimals = decimalsOf(increment)
  return ticks.map((tick) => (Number.isFinite(tick) ? clean(tick).toFixed(decimals) : String(tick)))
}

/** A value axis's width in CSS pixels for its longest label (axis font: 12 px system sans). */
export function tickAxisSize(labels: readonly (string | null)[], minimum: number): number {
  const longest = Math.max(0, ...labels.map((label) => label?.length ?? 0))
  return Math.max(minimum, Math.ceil(longest * 7 + 18))
}
