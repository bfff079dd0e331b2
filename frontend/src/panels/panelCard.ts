/**
 * One panel's card in a grid: its header (title; move handle, "Edit",
 * the reader's "View" options, "Comment"), its content (drawn by the renderer
 * of its type) and, for editors, a resize handle.
 */

import { createElement, GripVertical, Pencil, SlidersHorizontal, type IconNode } from 'lucide'

import { h } from '../views/dom'
import { LineChart, ScatterChart } from './charts'
import { PANEL_TYPE_NAMES, type PanelSpec, type PanelType } from './gridModel'
import type { DragMode, Rect } from './layout'
import { newReaderState, panelMetricKeys, type PanelContext, type PanelRenderer } from './renderer'
import { BarChart, MarkdownPanel, MediaPanel, RunTable, ScalarPanel } from './simplePanels'

export interface CardActions {
  edit(panelId: string): void
  comment(panelId: string): void
  /** A pointer went down on the move or resize handle. */
  drag(panelId: string, mode: DragMode, event: PointerEvent): void
  /** Arrow keys on the move handle: move (or, with Shift, resize) by whole cells. */
  nudge(panelId: string, mode: DragMode, dCols: number, dRows: number): void
}

export function panelIcon(node: IconNode, size = 15): SVGElement {
  return createElement(node, { width: size, height: size, 'stroke-width': 2, 'aria-hidden': 'true', focusable: 'false' })
}

/** The renderer that draws a panel of `type` into `content`; `null` for an unknown type. */
export function rendererFor(type: string, content: HTMLElement): PanelRenderer | null {
  switch (type) {
    case 'line':
      return new LineChart(content)
    case 'scatter':
      return new ScatterChart(content)
    case 'bar':
      return new BarChart(content)
    case 'scalar':
      return new ScalarPanel(content)
    case 'run_table':
      return new RunTable(content)
    case 'markdown':
      return new MarkdownPanel(content)
    case 'media':
      return new MediaPanel(content)
    default:
      return null
  }
}

/** What the card shows as its name: its title, else its metrics, else its type. */
export function panelName(spec: PanelSpec): string {
  return spec.title || spec.metrics.join(', ') || PANEL_TYPE_NAMES[spec.type as PanelType] || spec.type
}

export class PanelCard {
  readonly element: HTMLElement
  readonly content: HTMLElement
  readonly reader = newReaderState()
  /** In or near the viewport (panels far off screen are drawn when they come near). */
  visible = true
  /** Its data or settings changed while it was off screen. */
  stale = true
  private renderer: PanelRenderer | null = null
  private rendererType = ''
  private readonly titleEl: HTMLElement
  private readonly grip: HTMLButtonElement
  private readonly editButton: HTMLButtonElement
  private readonly resizeHandle: HTMLElement
  private readonly view: HTMLDetailsElement
  private readonly smoothingInput: HTMLInputElement
  private readonly smoothingOut: HTMLOutputElement
  private drawn = ''
  private editable = false
  private readonly outsideView = (event: Event) => {
    if (!this.view.contains(event.target as Node)) this.view.open = false
  }

  constructor(
    public spec: PanelSpec,
    actions: CardActions,
    private readonly redraw: () => void,
  ) {
    const id = spec.id
    this.titleEl = h('h3', { class: 'panel__title' })
    this.grip = h('button', { type: 'button', class: 'panel__grip', title: 'Move panel: drag, or arrow keys (Shift+arrows resize)', 'aria-label': 'Move panel' }, panelIcon(GripVertical))
    this.grip.addEventListener('pointerdown', (event) => actions.drag(id, 'move', event))
    this.grip.addEventListener('keydown', (event) => {
      const step = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[event.key]
      if (!step) return
      event.preventDefault()
      actions.nudge(id, event.shiftKey ? 'resize' : 'move', step[0], step[1])
    })
    this.editButton = h('button', { type: 'button', class: 'panel__action', title: 'Edit this panel' }, panelIcon(Pencil), h('span', {}, 'Edit'))
    this.editButton.addEventListener('click', () => actions.edit(id))
    const comment = h('button', { type: 'button', class: 'link-button', title: 'Comment on this panel' }, 'Comment')
    comment.addEventListener('click', () => actions.comment(id))

    // The reader's own view: never written to the report.
    this.smoothingInput = h('input', { type: 'range', min: 0, max: 0.99, step: 0.01, value: 0, 'aria-label': 'My smoothing' })
    this.smoothingOut = h('output', { class: 'panel-view__value' })
    const reset = h('button', { type: 'button', class: 'link-button' }, "Use the panel's")
    this.smoothingInput.addEventListener('input', () => {
      this.reader.smoothing = Number(this.smoothingInput.value)
      this.syncView()
      this.redraw()
    })
    reset.addEventListener('click', () => {
      this.reader.smoothing = null
      this.syncView()
      this.redraw()
    })
    this.view = h(
      'details',
      { class: 'panel-view' },
      h('summary', { title: 'My view of this panel (only you see it)' }, panelIcon(SlidersHorizontal), h('span', {}, 'View')),
      h(
        'div',
        { class: 'panel-view__menu' },
        h('label', { class: 'panel-view__row' }, h('span', {}, 'My smoothing'), this.smoothingInput, this.smoothingOut),
        reset,
        h('p', { class: 'panel-view__help' }, 'Drag across the plot to zoom, double-click to zoom out, click a run in the legend to hide it. Only you see these.'),
      ),
    )
    // The menu closes on a click elsewhere or Escape, as menus do.
    const outside = this.outsideView
    const escape = (event: KeyboardEvent) => {
      if (event.key !== 'Escape') return
      this.view.open = false
      this.view.querySelector('summary')?.focus()
    }
    this.view.addEventListener('toggle', () => {
      if (this.view.open) document.addEventListener('pointerdown', outside, true)
      else document.removeEventListener('pointerdown', outside, true)
    })
    this.view.addEventListener('keydown', escape)
    this.content = h('div', { class: 'panel__content' })
    this.resizeHandle = h('span', { class: 'panel__resize', title: 'Resize panel', 'aria-hidden': 'true' })
    this.resizeHandle.addEventListener('pointerdown', (event) => actions.drag(id, 'resize', event))
    const head = h('header', { class: 'panel__head' }, this.grip, this.titleEl, h('div', { class: 'panel__actions' }, this.view, this.editButton, comment))
    // The header is the handle a mouse drags (the grip is for keys and touch).
    head.addEventListener('pointerdown', (event) => {
      if (!this.editable || event.pointerType === 'touch') return
      if ((event.target as Element).closest('button, summary, input, select, textarea, a, .panel-view__menu')) return
      actions.drag(id, 'move', event)
    })
    this.element = h('section', { class: 'panel', 'data-panel-id': id }, head, this.content, this.resizeHandle)
    this.setSpec(spec)
  }

  /**
   * Take new settings. Returns whether the content must be drawn again
   * (a title or layout alone does not).
   */
  setSpec(spec: PanelSpec): boolean {
    this.spec = spec
    const name = panelName(spec)
    this.element.className = `panel panel--${spec.type}`
    this.element.setAttribute('aria-label', name)
    this.element.dataset.type = spec.type
    this.element.dataset.smoothing = String(spec.smoothing)
    this.titleEl.textContent = name
    this.view.hidden = spec.type !== 'line'
    this.syncView()
    const { title: _title, layout: _layout, ...drawn } = spec
    const key = JSON.stringify(drawn)
    if (key === this.drawn) return false
    this.drawn = key
    if (spec.type !== this.rendererType) {
      this.renderer?.destroy()
      this.content.replaceChildren()
      for (const name of Object.keys(this.content.dataset)) delete this.content.dataset[name]
      this.rendererType = spec.type
      this.renderer = rendererFor(spec.type, this.content)
      this.reader.zoom = null
    }
    return true
  }

  /** Whether it draws on a canvas (uPlot) rather than with HTML. */
  get drawsCanvas(): boolean {
    return this.rendererType === 'line' || this.rendererType === 'scatter'
  }

  /** The history keys this panel draws. */
  metricKeys(): string[] {
    return panelMetricKeys(this.spec)
  }

  setEditable(editable: boolean): void {
    this.editable = editable
    this.grip.hidden = !editable
    this.editButton.hidden = !editable
    this.resizeHandle.hidden = !editable
    this.element.classList.toggle('panel--editable', editable)
  }

  place(rect: Rect): void {
    this.element.style.gridColumn = `${rect.x + 1} / span ${rect.w}`
    this.element.style.gridRow = `${rect.y + 1} / span ${rect.h}`
  }

  render(ctx: Omit<PanelContext, 'spec' | 'reader'>): void {
    this.stale = false
    if (!this.renderer) {
      this.content.replaceChildren(h('p', { class: 'panel__note' }, `This version cannot show “${this.spec.type}” panels.`))
      return
    }
    this.renderer.render({ ...ctx, spec: this.spec, reader: this.reader })
  }

  resize(): void {
    this.renderer?.resize()
  }

  destroy(): void {
    document.removeEventListener('pointerdown', this.outsideView, true)
    this.renderer?.destroy()
    this.renderer = null
    this.element.remove()
  }

  private syncView(): void {
    const value = this.reader.smoothing ?? this.spec.smoothing
    this.smoothingInput.value = String(value)
    this.smoothingOut.textContent = `${value.toFixed(2)}${this.reader.smoothing === null ? " (the panel's)" : ''}`
  }
}
