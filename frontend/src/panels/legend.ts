/**
 * A chart's legend: one toggle button per run (or group), showing its value
 * under the cursor. Toggling is the reader's own view and is not saved.
 */

import { h } from '../views/dom'

export interface LegendEntry {
  key: string
  label: string
  color: string
  hidden: boolean
}

export class Legend {
  readonly element: HTMLElement
  private readonly head: HTMLElement
  private readonly list: HTMLElement
  private items = new Map<string, { button: HTMLButtonElement; value: HTMLElement }>()
  private signature = ''

  constructor(private readonly onToggle: (key: string) => void) {
    this.head = h('span', { class: 'panel-legend__x', 'aria-live': 'off' })
    this.list = h('div', { class: 'panel-legend__items' })
    this.element = h('div', { class: 'panel-legend', role: 'group', 'aria-label': 'Runs shown (click to hide or show)' }, this.head, this.list)
  }

  set(entries: readonly LegendEntry[]): void {
    const signature = JSON.stringify(entries.map((e) => [e.key, e.label, e.color]))
    if (signature !== this.signature) {
      this.signature = signature
      this.items = new Map()
      this.list.replaceChildren(
        ...entries.map((entry) => {
          const value = h('span', { class: 'panel-legend__value' })
          const button = h(
            'button',
            { type: 'button', class: 'panel-legend__item', title: entry.label },
            h('span', { class: 'panel-legend__swatch', style: `background: ${entry.color}` }),
            h('span', { class: 'panel-legend__label' }, entry.label),
            value,
          )
          button.addEventListener('click', () => {
            // Answer the click at once; the chart follows on the next frame.
            button.setAttribute('aria-pressed', String(button.getAttribute('aria-pressed') === 'false'))
            this.onToggle(entry.key)
          })
          this.items.set(entry.key, { button, value })
          return button
        }),
      )
    }
    for (const entry of entries) {
      const button = this.items.get(entry.key)?.button
      const pressed = String(!entry.hidden)
      if (button && button.getAttribute('aria-pressed') !== pressed) button.setAttribute('aria-pressed', pressed)
    }
  }

  /** Values under the cursor (or none when it left the chart). */
  showValues(x: string | null, values: ReadonlyMap<string, string>): void {
    this.head.textContent = x ?? ''
    for (const [key, item] of this.items) item.value.textContent = x === null ? '' : (values.get(key) ?? '—')
  }
}
