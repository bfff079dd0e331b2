/**
 * KaTeX, loaded when a formula is first drawn: with its stylesheet it is about
 * 290 kB that most reports never need, so it is its own chunk. Until it has
 * loaded a formula shows its LaTeX source.
 */

import type { KatexOptions } from 'katex'

type Katex = (typeof import('katex'))['default']

let loading: Promise<Katex> | null = null

/** KaTeX and its stylesheet, loaded once. */
export function loadKatex(): Promise<Katex> {
  loading ??= Promise.all([import('katex'), import('katex/dist/katex.min.css')]).then(([module]) => module.default)
  return loading
}

/**
 * Draw `latex` into `element`: its source at once, the formula when KaTeX is
 * there. `onError` is told whether KaTeX refused it (then the source stays).
 */
export function renderLatex(latex: string, element: HTMLElement, options: KatexOptions, onError?: (failed: boolean) => void): void {
  element.textContent = latex
  loadKatex().then(
    (katex) => {
      try {
        katex.render(latex, element, options)
        onError?.(false)
      } catch {
        element.textContent = latex
        onError?.(true)
      }
    },
    (error: unknown) => console.warn('coreport: could not load the formula renderer', error),
  )
}
