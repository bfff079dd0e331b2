/**
 * The `panelGrid` block: an atom node holding only `gridId`; its node view
 * reads the grid, panels and run sets from the report document and draws the
 * panels, live from the runs stream, placed by their layouts in a CSS grid.
 *
 * A report can hold many panels, so the view does as little as it can: a
 * change to one panel's map redraws that panel only, new points redraw only
 * the panels that show their metrics, panels far off screen wait until they
 * come near, and all drawing happens at most once per animation frame.
 */

import { mergeAttributes, Node, type Editor } from '@tiptap/core'
import type { Node as PmNode } from '@tiptap/pm/model'
import type { NodeView } from '@tiptap/pm/view'
import { Plus, Database } from 'lucide'
import * as Y from 'yjs'

import { h } from '../views/dom'
import {
  addPanel,
  gridsRoot,
  panelsRoot,
  readGridShape,
  readPanel,
  readRunset,
  runsetsRoot,
  writeLayouts,
  type RunsetSpec,
} from './gridModel'
import { layoutChanges, resolveLayout, type LayoutItem, type Rect } from './layout'
import { beginDrag, nudge, type DragHost } from './layoutDrag'
import { mediaKeys } from './media'
import { PanelCard, panelIcon } from './panelCard'
import { openPanelEditor } from './panelEditor'
import { GridRuns, type ChangedKeys } from './runData'
import { openRunsetEditor } from './runsetEditor'
import './panels.css'

export interface PanelGridOptions {
  doc: Y.Doc | null
  /** Start a comment thread on a panel (the comments sidebar). */
  commentOnPanel: (panelId: string) => void
}

export const PanelGrid = Node.create<PanelGridOptions>({
  name: 'panelGrid',
  group: 'block',
  atom: true,
  selectable: true,
  draggable: true,

  addOptions() {
    return { doc: null, commentOnPanel: () => undefined }
  },

  addAttributes() {
    return {
      gridId: {
        default: null,
        parseHTML: (element) => element.getAttribute('data-grid-id'),
        renderHTML: (attrs) => ({ 'data-grid-id': attrs.gridId as string | null }),
      },
    }
  },

  parseHTML() {
    return [{ tag: 'div[data-panel-grid]' }]
  },

  renderHTML({ HTMLAttributes }) {
    return ['div', mergeAttributes(HTMLAttributes, { 'data-panel-grid': '' })]
  },

  addNodeView() {
    const { doc, commentOnPanel } = this.options
    return ({ node, editor }) => new PanelGridView(node, doc, editor, commentOnPanel)
  },
})

/** Ids of the maps under `root` that these events touched. */
function touched(events: readonly Y.YEvent<Y.AbstractType<unknown>>[], root: unknown): Set<string> {
  const ids = new Set<string>()
  for (const event of events) {
    if (event.target === root) for (const key of (event as Y.YMapEvent<unknown>).keysChanged) ids.add(key)
    else if (event.path.length > 0) ids.add(String(event.path[0]))
  }
  return ids
}

class PanelGridView implements NodeView {
  readonly dom: HTMLElement
  private readonly body: HTMLElement
  private readonly toolbar: HTMLElement
  private readonly note: HTMLElement
  private readonly footer: HTMLElement
  private readonly runs = new GridRuns()
  private readonly cards = new Map<string, PanelCard>()
  private gridId: string
  private panelIds: string[] = []
  /** The grid's `panelIds` as listed, including ids whose maps have not arrived yet. */
  private listedPanelIds = new Set<string>()
  private runsetIds: string[] = []
  private runsets: RunsetSpec[] = []
  private columns = 24
  private rects = new Map<string, Rect>()
  private preview: ReadonlyMap<string, Rect> | null = null
  private editable: boolean
  private missing = false
  private readonly dirty = new Set<string>()
  private readonly resized = new Set<string>()
  private layoutDirty = true
  private frame: number | null = null
  /** Closes the panel or run set editor this grid opened, if it is open. */
  private closeDialog: () => void = () => undefined
  private readonly resizeObserver: ResizeObserver
  private readonly intersection: IntersectionObserver
  /** Watches the editor's root for `contenteditable` (setEditable may not emit an update). */
  private editableWatch: MutationObserver | null = null

  constructor(
    node: PmNode,
    private readonly doc: Y.Doc | null,
    private readonly editor: Editor,
    private readonly commentOnPanel: (panelId: string) => void,
  ) {
    this.gridId = String(node.attrs.gridId ?? '')
    this.editable = editor.isEditable
    this.body = h('div', { class: 'panel-grid__panels' })
    const addButton = h('button', { type: 'button', class: 'button button--small' }, panelIcon(Plus), 'Add panel')
    addButton.addEventListener('click', () => this.addPanel())
    const runsetButton = h('button', { type: 'button', class: 'button button--small button--ghost' }, panelIcon(Database), 'Run sets')
    runsetButton.addEventListener('click', () => {
      if (this.doc && this.editable) this.closeDialog = openRunsetEditor({ doc: this.doc, gridId: this.gridId })
    })
    this.toolbar = h('div', { class: 'panel-grid__toolbar', role: 'toolbar', 'aria-label': 'Panel grid' }, addButton, runsetButton)
    this.note = h('p', { class: 'panel-grid__empty', hidden: true })
    this.footer = h('p', { class: 'panel-grid__footer', 'aria-live': 'polite' })
    this.dom = h('div', { class: 'panel-grid', 'data-grid-id': this.gridId, contenteditable: 'false' }, this.toolbar, this.note, this.body, this.footer)
    // Inside a panel, a drag zooms a chart or moves a panel; only the grid's frame drags the whole block.
    this.body.addEventListener('dragstart', (event) => event.preventDefault())

    this.resizeObserver = new ResizeObserver((entries) => {
      for (const entry of entries) {
        const id = (entry.target as HTMLElement).dataset.panelId
        if (id) this.resized.add(id)
      }
      this.schedule()
    })
    this.intersection = new IntersectionObserver(
      (entries) => {
        for (const entry of entries) {
          const id = (entry.target as HTMLElement).dataset.panelId
          const card = id ? this.cards.get(id) : undefined
          if (!card || !id) continue
          card.visible = entry.isIntersecting
          if (card.visible && card.stale) this.dirty.add(id)
        }
        this.schedule()
      },
      { rootMargin: '400px 0px' },
    )
    this.runs.onChange((changed) => this.onData(changed))
    editor.on('update', this.onEditorUpdate)
    if (doc) {
      gridsRoot(doc).observeDeep(this.onGrids)
      panelsRoot(doc).observeDeep(this.onPanels)
      runsetsRoot(doc).observeDeep(this.onRunsets)
    }
    this.setEditable(this.editable)
    this.syncShape(true)
  }

  update(node: PmNode): boolean {
    if (node.type.name !== 'panelGrid') return false
    const gridId = String(node.attrs.gridId ?? '')
    if (gridId !== this.gridId) {
      this.gridId = gridId
      this.dom.dataset.gridId = gridId
      for (const card of this.cards.values()) this.dropCard(card)
      this.cards.clear()
      this.panelIds = []
      this.runsetIds = []
      this.runsets = []
      this.closeDialog()
      this.syncShape(true)
    }
    return true
  }

  stopEvent(event: Event): boolean {
    // Clicks and typing inside panels (forms, chart zoom) are the panel's, not the editor's.
    return !(event.type === 'dragstart' || event.type === 'drop')
  }

  ignoreMutation(): boolean {
    return true
  }

  destroy(): void {
    if (this.doc) {
      gridsRoot(this.doc).unobserveDeep(this.onGrids)
      panelsRoot(this.doc).unobserveDeep(this.onPanels)
      runsetsRoot(this.doc).unobserveDeep(this.onRunsets)
    }
    this.editor.off('update', this.onEditorUpdate)
    this.editableWatch?.disconnect()
    this.closeDialog()
    this.runs.stop()
    this.resizeObserver.disconnect()
    this.intersection.disconnect()
    if (this.frame !== null) cancelAnimationFrame(this.frame)
    for (const card of this.cards.values()) card.destroy()
    this.cards.clear()
  }

  // -- document changes ------------------------------------------------------------

  private readonly onGrids = (events: Y.YEvent<Y.AbstractType<unknown>>[]) => {
    if (this.doc && touched(events, gridsRoot(this.doc)).has(this.gridId)) this.syncShape(false)
  }

  private readonly onPanels = (events: Y.YEvent<Y.AbstractType<unknown>>[]) => {
    if (!this.doc) return
    let arrived = false
    for (const id of touched(events, panelsRoot(this.doc))) {
      if (this.cards.has(id)) this.syncPanel(id)
      else if (this.listedPanelIds.has(id)) arrived = true
    }
    // A listed panel's map came after the list (or came back): place it in order.
    if (arrived) this.syncShape(false)
  }

  private readonly onRunsets = (events: Y.YEvent<Y.AbstractType<unknown>>[]) => {
    if (!this.doc) return
    const ids = touched(events, runsetsRoot(this.doc))
    if (this.runsetIds.some((id) => ids.has(id))) this.loadRuns()
  }

  private readonly onEditorUpdate = () => {
    if (this.editor.isEditable !== this.editable) this.setEditable(this.editor.isEditable)
  }

  /**
   * A role change makes the editor read-only with `setEditable(false, false)`, which
   * emits no update; ProseMirror then sets `contenteditable` on its root, which we see.
   */
  private watchEditable(): void {
    if (this.editableWatch) return
    const root = this.dom.parentElement?.closest('.ProseMirror')
    if (!root) return
    this.editableWatch = new MutationObserver(this.onEditorUpdate)
    this.editableWatch.observe(root, { attributes: true, attributeFilter: ['contenteditable'] })
    this.onEditorUpdate()
  }

  private setEditable(editable: boolean): void {
    this.editable = editable
    if (!editable) this.closeDialog()
    this.toolbar.hidden = !editable
    this.dom.classList.toggle('panel-grid--editable', editable)
    for (const [id, card] of this.cards) {
      card.setEditable(editable)
      this.dirty.add(id)
    }
    this.schedule()
  }

  /** The grid's own map changed (or is read for the first time): panels, run sets, columns. */
  private syncShape(first: boolean): void {
    const shape = this.doc ? readGridShape(this.doc, this.gridId) : null
    this.missing = !shape
    if (!shape) {
      for (const card of this.cards.values()) this.dropCard(card)
      this.cards.clear()
      this.panelIds = []
      this.schedule()
      return
    }
    if (shape.columns !== this.columns) {
      this.columns = shape.columns
      this.layoutDirty = true
    }
    const previousPanels = this.panelIds.join('\n')
    this.listedPanelIds = new Set(shape.panelIds)
    this.panelIds = [...new Set(shape.panelIds)].filter((id) => panelsRoot(this.doc!).get(id) instanceof Y.Map)
    if (this.panelIds.join('\n') !== previousPanels) {
      const keep = new Set(this.panelIds)
      for (const [id, card] of this.cards) {
        if (keep.has(id)) continue
        this.dropCard(card)
        this.cards.delete(id)
      }
      for (const id of this.panelIds) if (!this.cards.has(id)) this.syncPanel(id)
      // DOM order is reading order for screen readers and the tab key.
      this.body.replaceChildren(...this.panelIds.map((id) => this.cards.get(id)!.element))
      this.layoutDirty = true
    }
    const runsetIds = shape.runsetIds.join('\n')
    if (first || runsetIds !== this.runsetIds.join('\n')) {
      this.runsetIds = shape.runsetIds
      this.loadRuns()
    } else {
      // New panels may show metrics not loaded yet.
      void this.runs.want(this.wantedKeys())
    }
    this.schedule()
  }

  /** A panel's map changed: redraw that panel only (or just move it, or just retitle it). */
  private syncPanel(id: string): void {
    const map = this.doc ? panelsRoot(this.doc).get(id) : undefined
    const card = this.cards.get(id)
    if (!(map instanceof Y.Map)) {
      // Its map went (a restore replaced the maps): the grid's list decides what stays.
      if (card) this.syncShape(false)
      return
    }
    const spec = readPanel(id, map)
    if (!card) {
      const created = new PanelCard(
        spec,
        {
          edit: (panelId) => this.editPanel(panelId),
          comment: (panelId) => this.commentOnPanel(panelId),
          drag: (panelId, mode, event) => {
            if (this.editable) beginDrag(this.dragHost(), panelId, mode, event)
          },
          nudge: (panelId, mode, dCols, dRows) => {
            if (this.editable) nudge(this.dragHost(), panelId, mode, dCols, dRows)
          },
        },
        () => {
          this.dirty.add(id)
          this.schedule()
        },
      )
      created.setEditable(this.editable)
      this.cards.set(id, created)
      this.resizeObserver.observe(created.element)
      this.intersection.observe(created.element)
      this.dirty.add(id)
      this.layoutDirty = true
      this.schedule()
      return
    }
    const before = card.spec
    if (card.setSpec(spec)) this.dirty.add(id)
    if (JSON.stringify(before.layout) !== JSON.stringify(spec.layout) || before.type !== spec.type) this.layoutDirty = true
    if (card.metricKeys().some((key) => !this.runs.metricKeys.includes(key))) void this.runs.want(card.metricKeys())
    this.schedule()
  }

  private dropCard(card: PanelCard): void {
    this.resizeObserver.unobserve(card.element)
    this.intersection.unobserve(card.element)
    card.destroy()
  }

  private wantedKeys(): string[] {
    return [...new Set([...this.cards.values()].flatMap((card) => card.metricKeys()))]
  }

  private loadRuns(): void {
    if (!this.doc) return
    const runsets: RunsetSpec[] = []
    for (const id of this.runsetIds) {
      const map = runsetsRoot(this.doc).get(id)
      if (map instanceof Y.Map) runsets.push(readRunset(id, map))
    }
    // A new name only changes the footer; which runs, and whether they are followed, reload them.
    const selection = (list: RunsetSpec[]) => JSON.stringify(list.map(({ name: _name, ...rest }) => rest))
    const reload = selection(runsets) !== selection(this.runsets) || !this.runs.loaded
    this.runsets = runsets
    if (reload) void this.runs.load(runsets, this.wantedKeys())
    this.schedule()
  }

  /** New points (or runs): redraw the panels that show those metrics. */
  private onData(changed: ChangedKeys): void {
    for (const [id, card] of this.cards) {
      if (changed === null || card.spec.type === 'media' || card.metricKeys().some((key) => changed.has(key))) this.dirty.add(id)
    }
    this.schedule()
  }

  // -- drawing -----------------------------------------------------------------------

  /** Draw at most once a frame, however many rows and edits arrive. */
  private schedule(): void {
    if (this.frame !== null) return
    this.frame = requestAnimationFrame(() => {
      this.frame = null
      this.flush()
    })
  }

  private flush(): void {
    this.watchEditable()
    if (this.layoutDirty) {
      this.layoutDirty = false
      this.applyLayout()
    }
    // Charts first: they draw their canvases at once, and a canvas drawn after other panels
    // changed the page would first lay out the whole report again.
    const dirty = [...this.dirty].sort((a, b) => Number(this.cards.get(b)?.drawsCanvas ?? false) - Number(this.cards.get(a)?.drawsCanvas ?? false))
    for (const id of dirty) {
      const card = this.cards.get(id)
      if (!card) continue
      if (!card.visible) {
        card.stale = true
        continue
      }
      card.render({ data: this.runs, editable: this.editable, redraw: () => this.redrawPanel(id) })
      this.resized.delete(id)
    }
    this.dirty.clear()
    for (const id of this.resized) this.cards.get(id)?.resize()
    this.resized.clear()
    this.drawFooter()
  }

  private redrawPanel(id: string): void {
    this.dirty.add(id)
    this.schedule()
  }

  private layoutItems(): LayoutItem[] {
    return this.panelIds.flatMap((id) => {
      const card = this.cards.get(id)
      return card ? [{ id, type: card.spec.type, layout: card.spec.layout }] : []
    })
  }

  private applyLayout(): void {
    this.rects = resolveLayout(this.layoutItems(), this.columns)
    this.body.style.setProperty('--columns', String(this.columns))
    const shown = this.preview ?? this.rects
    for (const [id, rect] of shown) this.cards.get(id)?.place(rect)
  }

  private drawFooter(): void {
    const empty = this.missing ? 'This panel grid is loading, or was removed.' : this.panelIds.length === 0 ? (this.editable ? 'No panels yet: Add panel.' : 'No panels yet.') : ''
    // Written only when changed: every flush ends here, and a write costs a layout.
    if (this.note.textContent !== empty) this.note.textContent = empty
    if (this.note.hidden !== !empty) this.note.hidden = !empty
    let footer = ''
    if (!this.missing) {
      const count = this.runs.runs.length
      const status = this.runs.error ? `Could not load runs: ${this.runs.error}` : this.runs.loaded ? `${count} run${count === 1 ? '' : 's'}` : 'Loading runs…'
      if (this.dom.dataset.runs !== String(count)) this.dom.dataset.runs = String(count)
      const names = this.runsets.map((r) => `${r.name}${r.frozen ? ' (frozen)' : ''}`).join(', ')
      footer = `${names} · ${status}`
    }
    if (this.footer.textContent !== footer) this.footer.textContent = footer
  }

  // -- editing -----------------------------------------------------------------------

  private dragHost(): DragHost {
    return {
      grid: this.body,
      columns: this.columns,
      rects: this.rects,
      preview: (rects) => {
        this.preview = rects
        for (const [id, rect] of rects ?? this.rects) this.cards.get(id)?.place(rect)
      },
      commit: (rects) => {
        if (!this.doc) return
        // Show (and build the next key press on) the new cells at once, not a frame later.
        this.rects = new Map(rects)
        for (const [id, rect] of rects) this.cards.get(id)?.place(rect)
        writeLayouts(this.doc, layoutChanges(this.layoutItems(), rects))
      },
    }
  }

  private editPanel(panelId: string): void {
    if (!this.doc || !this.editable) return
    this.closeDialog = openPanelEditor({
      doc: this.doc,
      gridId: this.gridId,
      panelId,
      suggestions: {
        discover: () => this.runs.discover(),
        mediaKeys: async () => {
          const lists = await Promise.all(this.runs.runs.slice(0, 10).map((run) => mediaKeys(run.id).catch(() => [] as string[])))
          return [...new Set(lists.flat())].sort()
        },
      },
    })
  }

  private addPanel(): void {
    if (!this.doc || !this.editable) return
    // A new panel starts as a line plot of the metric the grid shows first.
    const metric = [...this.cards.values()].flatMap((card) => card.spec.metrics)[0]
    const id = addPanel(this.doc, this.gridId, { type: 'line', metrics: metric ? [metric] : [] })
    if (id) this.editPanel(id)
  }
}
