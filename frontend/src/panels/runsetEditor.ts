/**
 * "Run sets": a dialog over the run sets of one grid (which runs its panels
 * draw). Each setting is written as its own key when it changes; filters are
 * checked against the runs list first, so a typo never leaves everyone's
 * panels empty.
 */

import * as Y from 'yjs'

import { api } from '../api'
import { h } from '../views/dom'
import { runsQuery } from './chartData'
import { addRunset, gridsRoot, readGridShape, readRunset, removeRunset, runsetsRoot, RUNSET_KEYS, setRunsetKey } from './gridModel'

export interface RunsetEditorOptions {
  doc: Y.Doc
  gridId: string
}

/** Filters as typed: one per line (or separated by ';'). */
export function parseFilters(text: string): string[] {
  return text
    .split(/\n|;/)
    .map((f) => f.trim())
    .filter(Boolean)
}

async function checkFilters(project: string, filters: string[]): Promise<string | null> {
  // Paging and sorting belong to the panels, not to the run set (as the Report API says too).
  const paging = filters.find((f) => ['sort', 'limit', 'offset', 'id'].includes(f.split(/[=<>!]/, 1)[0].trim()))
  if (paging) return `“${paging}” is not a filter (put run ids under “Also these runs”)`
  if (!project) return null
  try {
    await api('GET', `/api/projects/${encodeURIComponent(project)}/runs?${runsQuery(filters, 1)}`)
    return null
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  }
}

/** Open the run sets of one grid; returns what closes the dialog. */
export function openRunsetEditor({ doc, gridId }: RunsetEditorOptions): () => void {
  const list = h('div', { class: 'runset-editor__list' })
  const heading = h('h2', { id: `rs-${gridId}-heading` }, 'Run sets')
  const addButton = h('button', { type: 'button', class: 'button button--small' }, 'Add run set')
  const done = h('button', { type: 'submit', class: 'button button--primary' }, 'Done')
  const form = h(
    'form',
    { method: 'dialog', class: 'grid-form runset-editor' },
    heading,
    h('p', { class: 'panel-editor__hint' }, 'The grid’s panels draw the runs of all its run sets. Changes are saved as you make them.'),
    list,
    h('div', { class: 'panel-editor__footer' }, addButton, done),
  )
  const dialog = h('dialog', { class: 'dialog runset-editor-dialog', 'aria-labelledby': heading.id }, form)
  const fillers = new Map<string, () => void>()
  let shown = ''

  const section = (runsetId: string, index: number, count: number): HTMLElement => {
    const map = runsetsRoot(doc).get(runsetId)
    const uid = `rs-${runsetId.replace(/[^A-Za-z0-9_-]/g, '')}`
    const field = (key: string, label: string, control: HTMLElement) => h('div', { class: 'form-row', 'data-key': key }, h('label', { for: control.id }, label), control)
    const name = h('input', { id: `${uid}-name`, class: 'input' })
    const project = h('input', { id: `${uid}-project`, class: 'input', pattern: '[A-Za-z0-9_.\\-]{1,128}', required: true })
    const filters = h('textarea', { id: `${uid}-filters`, class: 'input', rows: 3, placeholder: 'state=running,finished\ntag=baseline\nconfig.lr<0.1' })
    const runIds = h('input', { id: `${uid}-runs`, class: 'input', placeholder: 'run ids, comma separated' })
    const frozen = h('input', { id: `${uid}-frozen`, type: 'checkbox' })
    const problem = h('p', { class: 'form-error', role: 'alert', hidden: true })
    const remove = h('button', { type: 'button', class: 'link-button', hidden: count < 2 }, 'Remove this run set')

    const current = () => (map instanceof Y.Map ? readRunset(runsetId, map) : null)
    const fill = () => {
      const spec = current()
      if (!spec) return
      const idle = (el: HTMLElement) => document.activeElement !== el
      if (idle(name)) name.value = spec.name
      if (idle(project)) project.value = spec.project
      if (idle(filters)) filters.value = spec.filters.join('\n')
      if (idle(runIds)) runIds.value = spec.runIds.join(', ')
      frozen.checked = spec.frozen
    }
    const showProblem = (message: string | null) => {
      problem.textContent = message ?? ''
      problem.hidden = message === null
    }
    name.addEventListener('change', () => setRunsetKey(doc, runsetId, RUNSET_KEYS.name, name.value.trim() || 'Runs'))
    const writeSelection = async () => {
      if (!project.checkValidity()) {
        showProblem('A project name is letters, digits, “_”, “.” and “-”.')
        return
      }
      const list = parseFilters(filters.value)
      const error = await checkFilters(project.value.trim(), list)
      showProblem(error && `These filters do not work: ${error}`)
      if (error) return
      doc.transact(() => {
        setRunsetKey(doc, runsetId, RUNSET_KEYS.project, project.value.trim())
        setRunsetKey(doc, runsetId, RUNSET_KEYS.filters, list)
      })
    }
    project.addEventListener('change', () => void writeSelection())
    filters.addEventListener('change', () => void writeSelection())
    runIds.addEventListener('change', () =>
      setRunsetKey(
        doc,
        runsetId,
        RUNSET_KEYS.runIds,
        runIds.value
          .split(/[\s,]+/)
          .map((id) => id.trim())
          .filter(Boolean),
      ),
    )
    frozen.addEventListener('change', () => setRunsetKey(doc, runsetId, RUNSET_KEYS.frozen, frozen.checked))
    remove.addEventListener('click', () => removeRunset(doc, gridId, runsetId))
    fillers.set(runsetId, fill)
    fill()
    return h(
      'fieldset',
      { class: 'runset-editor__set' },
      h('legend', {}, `Run set ${index + 1}`),
      h('div', { class: 'panel-editor__pair' }, field('name', 'Name', name), field('project', 'Project', project)),
      field('filters', 'Filters (one per line; all must hold)', filters),
      field('run_ids', 'Also these runs', runIds),
      h('div', { class: 'form-row form-row--inline' }, frozen, h('label', { for: frozen.id }, 'Frozen: stop following new runs and points')),
      problem,
      remove,
    )
  }

  const build = () => {
    const shape = readGridShape(doc, gridId)
    if (!shape) {
      close()
      return
    }
    const key = shape.runsetIds.join(',')
    if (key === shown) {
      for (const fill of fillers.values()) fill()
      return
    }
    shown = key
    fillers.clear()
    list.replaceChildren(...shape.runsetIds.map((id, i) => section(id, i, shape.runsetIds.length)))
  }
  const onChange = () => build()
  runsetsRoot(doc).observeDeep(onChange)
  gridsRoot(doc).observeDeep(onChange)

  addButton.addEventListener('click', () => {
    const shape = readGridShape(doc, gridId)
    const first = shape?.runsetIds.map((id) => runsetsRoot(doc).get(id)).find((m) => m instanceof Y.Map)
    addRunset(doc, gridId, first ? readRunset('', first).project : '')
  })

  let closed = false
  function close(): void {
    if (closed) return
    closed = true
    runsetsRoot(doc).unobserveDeep(onChange)
    gridsRoot(doc).unobserveDeep(onChange)
    if (dialog.open) dialog.close()
    dialog.remove()
  }
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    // A field still focused has not sent its change yet.
    ;(document.activeElement as HTMLElement | null)?.blur()
    close()
  })
  dialog.addEventListener('cancel', (event) => {
    event.preventDefault()
    close()
  })
  build()
  document.body.append(dialog)
  dialog.showModal()
  return close
}
