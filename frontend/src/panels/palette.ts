/** Run and group colours: the same run has the same colour in every panel of a grid. */

const PALETTE = ['#4263eb', '#e8590c', '#2f9e44', '#ae3ec9', '#c92a2a', '#0c8599', '#f08c00', '#5c940d']

/** The colour of the nth run (or group): the palette, then hues a golden angle apart. */
export function colorAt(index: number): string {
  if (index < PALETTE.length) return PALETTE[index]
  const hue = Math.round((index * 137.508) % 360)
  return `hsl(${hue} 65% 42%)`
}

/** `color` at `alpha` opacity (for bands), for `#rrggbb` and `hsl(...)` colours. */
export function withAlpha(color: string, alpha: number): string {
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color)
  if (hex) return `rgba(${parseInt(hex[1], 16)}, ${parseInt(hex[2], 16)}, ${parseInt(hex[3], 16)}, ${alpha})`
  return color.replace(/\)$/, ` / ${alpha})`)
}
