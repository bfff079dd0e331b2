/**
 * Version history: a drawer listing the report's versions (newest first),
 * where editors save a named version and restore one (after confirming), and
 * anyone with access previews a version read-only or compares two of them.
 * Routes: docs/report-api.md, "Versions".
 */

import './historyDrawer.css'

import {
  ApiError,
  diffVersions,
  getMyAccess,
  getVersion,
  listVersions,
  restoreVersion,
  takeVersion,
  type VersionInfo,
} from '../api'
import { timeAgo } from '../relativeTime'
import { h } from './dom'
import { openModal, rerenderKeepingFocus, type Modal } from './modal'
import { capabilitiesOf } from './roles'
import { diffSummary, parseUnifiedDiff, type DiffLine, type ParsedDiff } from './unifiedDiff'
import { renderVersionDoc } from './versionBlocks'
import { KIND_LABELS, authorName, comparisonTitle, defaultComparison, versionShort, versionTitle } from './versionInfo'

export interface HistoryDrawerDeps {
  reportId: string
  /** The signed-in user's id (`null` on a server without auth). */
  me: string | null
  nameOf: (userId: string) => string | undefined
  opener?: HTMLElement | null
  onClose?: () => void
}

export function openHistoryDrawer(deps: HistoryDrawerDeps): Modal {
  const { reportId } = deps
  let versions: VersionInfo[] = []
  let canEdit = false
  let selected: string | null = null
  /** The version whose restore is being confirmed. */
  let confirming: string | null = null

  const modal = openModal({
    id: 'history-drawer',
    title: 'Version history',
    className: 'history-drawer',
    opener: deps.opener,
    onClose: deps.onClose,
    onEscape: () => {
      if (confirming === null) return false
      cancelConfirm()
      return true
    },
  })

  const message = h('p', { class: 'modal__message history__message', 'aria-live': 'polite' })
  const say = (text: string) => {
    message.textContent = text
  }
  const failed = (what: string, error: unknown) => say(`${what}: ${describe(error)}`)

  // ---- save a named version ----
  const nameInput = h('input', { id: 'history-name', class: 'input', name: 'name', maxlength: 200, required: true, autocomplete: 'off', placeholder: 'e.g. before review' })
  const saveButton = h('button', { type: 'submit', class: 'button button--primary button--small' }, 'Save version')
  const saveForm = h(
    'form',
    { class: 'history__save', 'aria-label': 'Save a named version', hidden: true },
    h('label', { for: 'history-name' }, 'Name the report as it is now'),
    h('div', { class: 'history__save-row' }, nameInput, saveButton),
  )
  saveForm.addEventListener('submit', (event) => {
    event.preventDefault()
    const name = nameInput.value.trim()
    if (!name) return
    saveButton.disabled = true
    takeVersion(reportId, name)
      .then(async (version) => {
        nameInput.value = ''
        say(`Saved ${versionShort(version)} “${name}”.`)
        await reload()
      })
      .catch((error: unknown) => failed('Could not save the version', error))
      .finally(() => {
        saveButton.disabled = false
      })
  })

  // ---- the list ----
  const list = h('ol', { class: 'history__list', 'aria-label': 'Versions' })
  const renderList = () =>
    rerenderKeepingFocus(
      list,
      () => {
        list.replaceChildren(...versions.map(versionItem))
        if (!versions.length) {
          list.append(h('li', { class: 'modal__muted history__empty' }, 'No versions yet. Versions are saved automatically a minute after editing stops, or when you name one.'))
        }
      },
      () => (canEdit ? nameInput : modal.closeButton),
    )

  const versionItem = (version: VersionInfo): HTMLElement => {
    const created = Date.parse(version.created_at)
    const by = version.created_by === null ? null : authorName(version.created_by, deps.me, deps.nameOf)
    const preview = h(
      'button',
      { type: 'button', class: 'button button--small', 'aria-label': `Preview ${versionShort(version)}`, 'data-focus-key': `preview:${version.id}` },
      'Preview',
    )
    preview.addEventListener('click', () => void showPreview(version))
    const item = h(
      'li',
      { class: 'history__item', 'data-version-id': version.id, 'aria-current': version.id === selected ? 'true' : null },
      h(
        'div',
        { class: 'history__item-head' },
        h('span', { class: 'history__number' }, `Version ${version.number}`),
        h('span', { class: `history__kind history__kind--${version.kind}` }, KIND_LABELS[version.kind] ?? version.kind),
      ),
      version.name ? h('div', { class: 'history__name' }, version.name) : null,
      h(
        'div',
        { class: 'history__meta' },
        h('time', { datetime: version.created_at, title: new Date(created).toLocaleString() }, timeAgo(created, Date.now())),
        by ? ` · by ${by}` : null,
      ),
      h('div', { class: 'history__actions' }, preview, canEdit ? restoreButton(version, `Restore ${versionShort(version)}`, 'Restore…') : null),
    )
    if (confirming === version.id) item.append(confirmBox(version))
    return item
  }

  const restoreButton = (version: VersionInfo, label: string, text: string): HTMLButtonElement => {
    const button = h('button', { type: 'button', class: 'button button--small button--ghost', 'aria-label': label, 'data-focus-key': `restore:${version.id}` }, text)
    button.addEventListener('click', () => {
      confirming = version.id
      renderList()
      list.querySelector<HTMLButtonElement>('.history__confirm .button--primary')?.focus()
      list.querySelector('.history__confirm')?.scrollIntoView({ block: 'nearest' })
    })
    return button
  }

  const confirmBox = (version: VersionInfo): HTMLElement => {
    const yes = h('button', { type: 'button', class: 'button button--primary button--small', 'data-focus-key': `confirm:${version.id}` }, `Restore ${versionShort(version)}`)
    const no = h('button', { type: 'button', class: 'button button--ghost button--small' }, 'Cancel')
    const textId = `history-confirm-${version.id}`
    yes.addEventListener('click', () => void restore(version, yes))
    no.addEventListener('click', cancelConfirm)
    return h(
      'div',
      { class: 'history__confirm', role: 'group', 'aria-label': `Confirm restoring ${versionShort(version)}`, 'aria-describedby': textId },
      h(
        'p',
        { id: textId },
        `Replace the report’s title and content with ${versionShort(version)}? Everyone editing sees it at once. `,
        'The current content stays in the history as the version before.',
      ),
      h('div', { class: 'history__actions' }, yes, no),
    )
  }

  function cancelConfirm(): void {
    const id = confirming
    confirming = null
    renderList()
    if (id) list.querySelector<HTMLElement>(`[data-focus-key="restore:${CSS.escape(id)}"]`)?.focus()
  }

  async function restore(version: VersionInfo, button: HTMLButtonElement): Promise<void> {
    button.disabled = true
    try {
      const taken = await restoreVersion(reportId, version.id)
      confirming = null
      say(`Restored ${versionShort(version)}. The report now shows it, for everyone (saved as ${versionShort(taken)}).`)
      await reload()
      list.querySelector<HTMLElement>(`[data-focus-key="preview:${CSS.escape(taken.id)}"]`)?.focus()
    } catch (error) {
      button.disabled = false
      failed(`Could not restore ${versionShort(version)}`, error)
    }
  }

  // ---- details: preview and comparison ----
  const detail = h('section', { class: 'history__detail', 'aria-label': 'Version details' })
  const fromSelect = h('select', { id: 'history-from', class: 'input input--small' })
  const toSelect = h('select', { id: 'history-to', class: 'input input--small' })
  const compareButton = h('button', { type: 'submit', class: 'button button--small' }, 'Show changes')
  const compareForm = h(
    'form',
    { class: 'history__compare', 'aria-label': 'Compare versions', hidden: true },
    h('label', { for: 'history-from' }, 'Compare'),
    fromSelect,
    h('label', { for: 'history-to' }, 'with'),
    toSelect,
    compareButton,
  )
  compareForm.addEventListener('submit', (event) => {
    event.preventDefault()
    const from = versions.find((v) => v.id === fromSelect.value)
    const to = toSelect.value ? (versions.find((v) => v.id === toSelect.value) ?? null) : null
    if (!from) return
    if (to?.id === from.id) {
      say('Choose two different versions to compare.')
      return
    }
    void showDiff(from, to)
  })

  const renderCompareChoices = () => {
    const start = defaultComparison(versions, selected)
    compareForm.hidden = start === null
    if (!start) return
    const keepFrom = versions.some((v) => v.id === fromSelect.value) ? fromSelect.value : start.from
    const keepTo = toSelect.value && versions.some((v) => v.id === toSelect.value) ? toSelect.value : ''
    fromSelect.replaceChildren(...versions.map((v) => h('option', { value: v.id, selected: v.id === keepFrom }, versionTitle(v))))
    toSelect.replaceChildren(
      h('option', { value: '', selected: keepTo === '' }, 'the current report'),
      ...versions.map((v) => h('option', { value: v.id, selected: v.id === keepTo }, versionTitle(v))),
    )
  }

  const placeholder = () =>
    h('p', { class: 'modal__muted history__placeholder' }, 'Preview a version to read it as it was, or compare two versions to see what changed.')

  const detailHeading = (text: string) => h('h3', { class: 'history__detail-title', tabindex: -1 }, text)

  async function showPreview(version: VersionInfo): Promise<void> {
    selected = version.id
    renderList()
    const heading = detailHeading(versionTitle(version))
    detail.replaceChildren(heading, h('p', { class: 'modal__muted' }, 'Loading…'))
    heading.focus()
    try {
      const content = await getVersion(reportId, version.id)
      if (selected !== version.id) return
      const since = h('button', { type: 'button', class: 'button button--small' }, 'Changes since this version')
      since.addEventListener('click', () => void showDiff(version, null))
      const restoreHere = canEdit ? restoreButton(version, `Restore ${versionShort(version)} from the preview`, 'Restore this version…') : null
      detail.replaceChildren(
        heading,
        h('p', { class: 'history__meta' }, `${KIND_LABELS[content.kind]} ${new Date(Date.parse(content.created_at)).toLocaleString()}`, content.runs ? ` · refers to ${content.runs} ${content.runs === 1 ? 'run' : 'runs'}` : ''),
        h('div', { class: 'history__actions' }, since, restoreHere),
        h('div', { class: 'history__preview' }, renderVersionDoc(content.title, content.blocks)),
      )
    } catch (error) {
      detail.replaceChildren(heading, errorLine(`Could not load ${versionShort(version)}: ${describe(error)}`))
    }
  }

  async function showDiff(from: VersionInfo, to: VersionInfo | null): Promise<void> {
    selected = from.id
    renderList()
    fromSelect.value = from.id
    toSelect.value = to?.id ?? ''
    const heading = detailHeading(comparisonTitle(from, to))
    detail.replaceChildren(heading, h('p', { class: 'modal__muted' }, 'Loading…'))
    heading.focus()
    try {
      const diff = parseUnifiedDiff(await diffVersions(reportId, from.id, to?.id ?? null))
      detail.replaceChildren(heading, h('p', { class: 'history__summary' }, diffSummary(diff)), renderDiff(diff))
    } catch (error) {
      detail.replaceChildren(heading, errorLine(`Could not compare: ${describe(error)}`))
    }
  }

  async function reload(): Promise<void> {
    versions = await listVersions(reportId)
    renderList()
    renderCompareChoices()
  }

  modal.body.append(
    h(
      'div',
      { class: 'history' },
      h('div', { class: 'history__side' }, saveForm, h('h3', { class: 'modal__section-title' }, 'Versions'), list),
      h('div', { class: 'history__main' }, compareForm, detail),
    ),
    message,
  )
  detail.append(placeholder())
  list.append(h('li', { class: 'modal__muted history__empty' }, 'Loading…'))

  void Promise.all([
    getMyAccess(reportId).then(
      (access) => capabilitiesOf(access.role).edit,
      () => false,
    ),
    listVersions(reportId),
  ]).then(
    ([edit, found]) => {
      canEdit = edit
      versions = found
      saveForm.hidden = !canEdit
      renderList()
      renderCompareChoices()
      if (document.activeElement === modal.closeButton && canEdit) nameInput.focus()
    },
    (error: unknown) => list.replaceChildren(h('li', {}, errorLine(`Could not load the versions: ${describe(error)}`))),
  )
  return modal
}

/** A diff as a table of numbered lines: removed and added lines marked in words as well as colour. */
function renderDiff(diff: ParsedDiff): HTMLElement {
  if (!diff.hunks.length) return h('p', { class: 'modal__muted' }, 'They read the same.')
  const table = h(
    'table',
    { class: 'diff' },
    h('caption', { class: 'visually-hidden' }, `${diffSummary(diff)}. Lines marked removed or added.`),
    h(
      'thead',
      { class: 'visually-hidden' },
      h('tr', {}, h('th', { scope: 'col' }, 'Old line'), h('th', { scope: 'col' }, 'New line'), h('th', { scope: 'col' }, 'Text')),
    ),
  )
  for (const hunk of diff.hunks) {
    const body = h('tbody', {})
    body.append(h('tr', { class: 'diff__hunk' }, h('td', { colspan: 3 }, `From line ${hunk.newStart}`)))
    for (const line of hunk.lines) body.append(diffRow(line))
    table.append(body)
  }
  return h('div', { class: 'diff-scroll' }, table)
}

const LINE_WORDS: Record<DiffLine['kind'], string> = { add: 'Added: ', del: 'Removed: ', context: '', note: '' }
const LINE_MARKS: Record<DiffLine['kind'], string> = { add: '+', del: '−', context: ' ', note: ' ' }

function diffRow(line: DiffLine): HTMLElement {
  return h(
    'tr',
    { class: `diff__line diff__line--${line.kind}` },
    h('td', { class: 'diff__number' }, line.oldNumber === null ? '' : String(line.oldNumber)),
    h('td', { class: 'diff__number' }, line.newNumber === null ? '' : String(line.newNumber)),
    h(
      'td',
      { class: 'diff__text' },
      h('span', { class: 'diff__mark', 'aria-hidden': 'true' }, LINE_MARKS[line.kind]),
      LINE_WORDS[line.kind] ? h('span', { class: 'visually-hidden' }, LINE_WORDS[line.kind]) : null,
      line.text || '\u00a0',
    ),
  )
}

function errorLine(text: string): HTMLElement {
  return h('p', { class: 'modal__error', role: 'alert' }, text)
}

function describe(error: unknown): string {
  if (error instanceof ApiError) return error.status === 403 ? 'your role does not allow this' : error.message
  return error instanceof Error ? error.message : String(error)
}
