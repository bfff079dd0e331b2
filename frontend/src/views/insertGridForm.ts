/** "Insert panel grid": a small dialog asking for a project, filters and a metric. */

import type { Editor } from '@tiptap/core'
import type * as Y from 'yjs'

import { createGrid } from '../panels/gridModel'
import { h } from './dom'

export function openInsertGridDialog(editor: Editor, doc: Y.Doc): void {
  const field = (id: string, label: string, attrs: Record<string, string | boolean> = {}) => {
    const input = h('input', { id, class: 'input', name: id, ...attrs })
    return { input, row: h('div', { class: 'form-row' }, h('label', { for: id }, label), input) }
  }
  const project = field('grid-project', 'Project', { required: true, placeholder: 'mnist', pattern: '[A-Za-z0-9_.\\-]{1,128}' })
  const filters = field('grid-filters', 'Filters (optional, comma separated)', { placeholder: 'state=running,finished; tag=baseline' })
  const metric = field('grid-metric', 'Metric for the line panel', { required: true, placeholder: 'loss' })
  const table = h('input', { id: 'grid-table', type: 'checkbox', checked: true })
  const insert = h('button', { type: 'submit', class: 'button button--primary' }, 'Insert')
  const cancel = h('button', { type: 'button', class: 'button button--ghost' }, 'Cancel')
  const form = h(
    'form',
    { method: 'dialog', class: 'grid-form' },
    h('h2', { id: 'grid-form-title' }, 'Insert panel grid'),
    project.row,
    filters.row,
    metric.row,
    h('div', { class: 'form-row form-row--inline' }, table, h('label', { for: 'grid-table' }, 'Add a run table')),
    h('div', { class: 'thread__actions' }, insert, cancel),
  )
  const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': 'grid-form-title' }, form)
  const close = () => {
    dialog.close()
    dialog.remove()
  }
  cancel.addEventListener('click', close)
  dialog.addEventListener('cancel', () => dialog.remove())
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    const gridId = createGrid(doc, {
      project: project.input.value.trim(),
      // Filters are separated by ';' or by ', ' before a new key (values may hold commas: state=a,b).
      filters: filters.input.value.split(/;\s*|,\s+(?=[\w.]+\s*[=!<>])/).map((f) => f.trim()).filter(Boolean),
      metric: metric.input.value.trim(),
      withRunTable: table.checked,
    })
    close()
    editor.chain().focus().insertContent({ type: 'panelGrid', attrs: { gridId } }).run()
  })
  document.body.append(dialog)
  dialog.showModal()
  project.input.focus()
}
