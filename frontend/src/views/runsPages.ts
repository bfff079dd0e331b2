/**
 * The runs pages that list: `/projects` (every project with its run count) and
 * `/projects/{project}` (its runs, filtered with the run list's query syntax, with
 * their key summary metrics). The run page itself is runsRunPage.ts.
 */

import './runs.css'

import { ApiError } from '../api'
import { timeAgo } from '../relativeTime'
import { projectPath, projectsPath, runPath } from '../router'
import { h } from './dom'
import { listProjects, listRuns, type RunInfo, type RunState } from './runsApi'
import { formatValue, parseRunFilter, sortProjects, summaryColumns, valueAt } from './runsTable'

/** Runs asked for per page of the table. */
const PAGE = 100

/** The top bar of the runs pages: home, and the two lists. */
export function runsTopbar(current: 'reports' | 'runs'): HTMLElement {
  const link = (href: string, text: string, here: boolean) => h('a', { href, class: 'topnav__link', 'aria-current': here ? 'page' : null }, text)
  return h(
    'header',
    { class: 'topbar' },
    h('a', { href: '/', class: 'brand', 'aria-label': 'coreport home' }, 'coreport'),
    h('nav', { class: 'topnav', 'aria-label': 'Sections' }, link('/', 'Reports', current === 'reports'), link(projectsPath(), 'Runs', current === 'runs')),
    h('div', { class: 'topbar__spacer' }),
  )
}

/** A run's state as a small coloured label. */
export function stateBadge(state: RunState): HTMLElement {
  return h('span', { class: `run-state run-state--${state}` }, state)
}

/**
 * Whether a run page says "live": its stream is open and the run is still running. A
 * finished, failed or crashed run logs nothing more, whatever the stream does.
 */
export function isLive(streamOpen: boolean, state: RunState | undefined): boolean {
  return streamOpen && state === 'running'
}

/** "3 minutes ago", with the exact time on hover. */
export function timeCell(iso: string): HTMLElement {
  return h('time', { datetime: iso, title: new Date(iso).toLocaleString() }, timeAgo(Date.parse(iso), Date.now()))
}

export function errorText(error: unknown): string {
  if (error instanceof ApiError) return error.message
  return `The server did not answer (${String(error)}).`
}

export function renderProjects(root: HTMLElement): () => void {
  document.title = 'Projects · coreport'
  const body = h('div', { class: 'runs-page__body', 'aria-busy': 'true' }, h('p', { class: 'loading', role: 'status' }, 'Loading projects…'))
  root.replaceChildren(
    runsTopbar('runs'),
    h('main', { class: 'runs-page', id: 'main' }, h('h1', { class: 'runs-page__heading' }, 'Projects'), body),
  )
  const request = new AbortController()
  listProjects(request.signal).then(
    (projects) => {
      body.removeAttribute('aria-busy')
      if (projects.length === 0) {
        body.replaceChildren(
          h('p', { class: 'empty' }, 'No runs yet. Log one with the Python SDK or ', h('code', {}, 'POST /api/projects/{project}/runs'), '.'),
        )
        return
      }
      body.replaceChildren(
        h(
          'table',
          { class: 'runs-table' },
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Project'), h('th', { scope: 'col', class: 'num' }, 'Runs'), h('th', { scope: 'col' }, 'Last activity'), h('th', { scope: 'col' }, 'Created'))),
          h(
            'tbody',
            {},
            ...sortProjects(projects).map((project) =>
              h(
                'tr',
                { 'data-project': project.name },
                h('th', { scope: 'row' }, h('a', { href: projectPath(project.name) }, project.name)),
                h('td', { class: 'num' }, String(project.run_count)),
                h('td', {}, timeCell(project.last_activity)),
                h('td', {}, timeCell(project.created_at)),
              ),
            ),
          ),
        ),
      )
    },
    (error: unknown) => {
      if (request.signal.aborted) return
      body.removeAttribute('aria-busy')
      body.replaceChildren(h('p', { class: 'form-error', role: 'alert' }, `Could not list the projects: ${errorText(error)}`))
    },
  )
  return () => request.abort()
}

export function renderProject(root: HTMLElement, project: string): () => void {
  document.title = `${project} · coreport`
  const params = new URLSearchParams(window.location.search)
  const filterInput = h('input', {
    class: 'input runs-filter__input',
    type: 'search',
    name: 'q',
    'aria-label': 'Filter runs',
    placeholder: 'state=running tag=baseline summary.loss<0.5 sort=-summary.loss',
    spellcheck: 'false',
    autocomplete: 'off',
  })
  filterInput.value = params.get('q') ?? ''
  const filterError = h('p', { class: 'form-error', role: 'alert', hidden: true })
  const filterForm = h(
    'form',
    { class: 'runs-filter', role: 'search' },
    filterInput,
    h('button', { type: 'submit', class: 'button button--small' }, 'Filter'),
  )
  const help = h(
    'p',
    { class: 'runs-filter__help' },
    'Conditions separated by spaces, all must hold: ',
    h('code', {}, 'state=running,finished'),
    ' ',
    h('code', {}, 'tag=baseline'),
    ' ',
    h('code', {}, 'config.lr=0.1'),
    ' ',
    h('code', {}, 'summary.loss<0.5'),
    ' ',
    h('code', {}, 'sort=-summary.loss'),
    '.',
  )
  const count = h('p', { class: 'runs-count', role: 'status' }, 'Loading runs…')
  const tableHost = h('div', { class: 'runs-table-host' })
  const more = h('button', { type: 'button', class: 'button button--small', hidden: true }, 'Load more')

  root.replaceChildren(
    runsTopbar('runs'),
    h(
      'main',
      { class: 'runs-page', id: 'main' },
      h('nav', { class: 'breadcrumbs', 'aria-label': 'Breadcrumbs' }, h('a', { href: projectsPath() }, 'Projects'), h('span', { 'aria-hidden': 'true' }, ' / ')),
      h('h1', { class: 'runs-page__heading' }, project),
      filterForm,
      help,
      filterError,
      count,
      tableHost,
      more,
    ),
  )

  let runs: RunInfo[] = []
  let request: AbortController | null = null

  const load = (offset: number) => {
    request?.abort()
    const current = new AbortController()
    request = current
    const filter = parseRunFilter(filterInput.value)
    const query = [filter.query, `limit=${PAGE}`, `offset=${offset}`].filter(Boolean).join('&')
    more.disabled = true
    listRuns(project, query, current.signal).then(
      (page) => {
        if (request !== current) return
        filterError.hidden = true
        runs = offset === 0 ? page.runs : [...runs, ...page.runs]
        count.textContent = page.total === 1 ? '1 run' : `${page.total} runs`
        tableHost.replaceChildren(runsTable(runs))
        more.hidden = page.next_offset === null
        more.disabled = false
        more.onclick = () => page.next_offset !== null && load(page.next_offset)
      },
      (error: unknown) => {
        if (current.signal.aborted) return
        more.disabled = false
        filterError.hidden = false
        filterError.textContent = error instanceof ApiError && error.status === 422 ? `Check the filter: ${error.message}.` : `Could not list the runs: ${errorText(error)}`
        count.textContent = ''
      },
    )
  }

  filterForm.addEventListener('submit', (event) => {
    event.preventDefault()
    // Keep the filter in the address, so a reload or a shared link shows the same runs.
    const text = filterInput.value.trim()
    const search = text ? `?${new URLSearchParams({ q: text })}` : ''
    window.history.replaceState(null, '', `${window.location.pathname}${search}`)
    load(0)
  })
  load(0)
  return () => request?.abort()
}

function runsTable(runs: readonly RunInfo[]): HTMLElement {
  if (runs.length === 0) return h('p', { class: 'empty' }, 'No runs match.')
  const metrics = summaryColumns(runs)
  return h(
    'table',
    { class: 'runs-table' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col' }, 'Name'),
        h('th', { scope: 'col' }, 'State'),
        h('th', { scope: 'col' }, 'Created'),
        h('th', { scope: 'col' }, 'Tags'),
        ...metrics.map((key) => h('th', { scope: 'col', class: 'num' }, key)),
      ),
    ),
    h(
      'tbody',
      {},
      ...runs.map((run) =>
        h(
          'tr',
          { 'data-run-id': run.id },
          h('th', { scope: 'row' }, h('a', { href: runPath(run.id) }, run.name)),
          h('td', {}, stateBadge(run.state)),
          h('td', {}, timeCell(run.created_at)),
          h('td', {}, ...run.tags.map((tag) => h('span', { class: 'run-tag' }, tag))),
          ...metrics.map((key) => h('td', { class: 'num' }, formatValue(valueAt(run.summary, key)))),
        ),
      ),
    ),
  )
}
