/**
 * `/runs/{run_id}`: one run's charts (a line chart per logged metric), summary, config,
 * code reference, console log and the reports that use it. While the page is open, new
 * history rows arrive over the runs stream (SSE) and move the charts at once; the
 * summary, state and log are read again shortly after, and every few seconds while the
 * run is running. The stream carries rows only, so the "live" badge follows the state
 * those reads find: a finished or crashed run is not live.
 */

import './runs.css'

import { ApiError } from '../api'
import { projectPath, reportPath } from '../router'
import { h } from './dom'
import { errorText, isLive, runsTopbar, stateBadge, timeCell } from './runsPages'
import { getHistory, getLogs, getRun, reportsUsingRun, runStreamUrl, type LiveRow, type LogLine, type RunInfo } from './runsApi'
import { MetricChart } from './runsChart'
import { mergeLiveRows, metricOrder, seriesFromHistory, type RunSeries } from './runsSeries'
import { commitUrl, flattenObject, formatValue } from './runsTable'

/** Points per metric the charts ask for. */
const MAX_POINTS = 1000
/** Lines of console output shown (the end of it). */
const LOG_TAIL = 500
/** While the run runs: how often its summary, state and log are read again (ms). */
const POLL_EVERY = 5000
/** After a live history row: the summary and log are read again within this (ms). */
const FOLLOW_UP = 1000

export function renderRunPage(root: HTMLElement, runId: string): () => void {
  document.title = 'Run · coreport'
  const heading = h('h1', { class: 'runs-page__heading' }, runId)
  const meta = h('div', { class: 'run-meta' })
  const crumbs = h('nav', { class: 'breadcrumbs', 'aria-label': 'Breadcrumbs' })
  const liveNote = h('span', { class: 'run-live', hidden: true, title: 'New points appear as they are logged' }, 'live')
  const charts = h('div', { class: 'run-charts', 'aria-label': 'Metrics' })
  const chartsNote = h('p', { class: 'empty' }, 'Loading metrics…')
  const summary = h('div', { class: 'run-kv' })
  const config = h('div', { class: 'run-kv' })
  const code = h('div', { class: 'run-code' })
  const logs = h('pre', { class: 'run-logs', tabindex: '0', 'aria-label': 'Console output', hidden: true })
  const logsNote = h('p', { class: 'empty' })
  const reports = h('div', { class: 'run-reports' }, h('p', { class: 'empty' }, 'Loading…'))
  const page = h(
    'main',
    { class: 'runs-page run-page', id: 'main' },
    crumbs,
    h('div', { class: 'run-page__title' }, heading, liveNote),
    meta,
    section('Charts', 'run-charts-heading', chartsNote, charts),
    h('div', { class: 'run-page__columns' }, section('Summary', 'run-summary-heading', summary), section('Config', 'run-config-heading', config)),
    section('Code', 'run-code-heading', code),
    section('Logs', 'run-logs-heading', logsNote, logs),
    section('Reports that use this run', 'run-reports-heading', reports),
  )
  root.replaceChildren(runsTopbar('runs'), page)

  const requests = new AbortController()
  const signal = requests.signal
  let stopped = false
  let run: RunInfo | null = null
  let series: RunSeries = new Map()
  /** Live rows that arrived while the history was being read, to apply again on top of it. */
  let rowsDuringLoad: LiveRow[] | null = null
  let historyAsked = false
  const chartByMetric = new Map<string, MetricChart>()
  let logStart = 0
  let logTail: LogLine[] = []
  let source: EventSource | null = null
  let streamOpen = false
  let pollTimer: number | null = null
  let followUp: number | null = null

  const fail = (error: unknown) => {
    if (stopped) return
    const text = error instanceof ApiError && error.status === 404 ? 'There is no run with this id.' : `Could not load this run: ${errorText(error)}`
    page.replaceChildren(crumbs, heading, h('p', { class: 'form-error', role: 'alert' }, text))
  }

  // -- the run itself -------------------------------------------------------------------

  /** "live" while the stream is open and the run runs; its state comes with each read of the run. */
  const showLive = () => {
    liveNote.hidden = !isLive(streamOpen, run?.state)
  }

  const showRun = (info: RunInfo) => {
    run = info
    document.title = `${info.name} · coreport`
    heading.textContent = info.name
    crumbs.replaceChildren(
      h('a', { href: '/projects' }, 'Projects'),
      h('span', { 'aria-hidden': 'true' }, ' / '),
      h('a', { href: projectPath(info.project) }, info.project),
      h('span', { 'aria-hidden': 'true' }, ' / '),
    )
    meta.replaceChildren(
      stateBadge(info.state),
      h('span', {}, 'created ', timeCell(info.created_at)),
      h('span', {}, 'updated ', timeCell(info.updated_at)),
      h('code', { class: 'run-meta__id', title: 'Run id' }, info.id),
      ...info.tags.map((tag) => h('span', { class: 'run-tag' }, tag)),
    )
    summary.replaceChildren(keyValues(info.summary, 'No summary yet.', 'Summary'))
    config.replaceChildren(keyValues(info.config, 'No config.', 'Config'))
    code.replaceChildren(codeReference(info))
    showLive()
  }

  const refreshRun = async () => {
    const info = await getRun(runId, signal)
    if (!stopped) showRun(info)
  }

  // -- charts -----------------------------------------------------------------------------

  const drawCharts = (metrics: Iterable<string>) => {
    for (const metric of metrics) {
      const data = series.get(metric)
      if (!data) continue
      let chart = chartByMetric.get(metric)
      if (!chart) {
        chart = new MetricChart(metric)
        chartByMetric.set(metric, chart)
        // Keep the charts in metric order as new metrics appear.
        const order = metricOrder([...chartByMetric.keys()])
        const next = chartByMetric.get(order[order.indexOf(metric) + 1] ?? '')
        charts.insertBefore(chart.element, next?.element ?? null)
      }
      chart.update(data)
    }
    chartsNote.hidden = chartByMetric.size > 0
    chartsNote.textContent = 'No metrics logged yet.'
  }

  const loadHistory = async () => {
    historyAsked = true
    rowsDuringLoad = []
    let history
    try {
      history = await getHistory(runId, MAX_POINTS, signal)
    } finally {
      if (stopped) rowsDuringLoad = null
    }
    if (stopped) return
    series = seriesFromHistory(history)
    mergeLiveRows(series, rowsDuringLoad ?? [])
    rowsDuringLoad = null
    for (const [metric, chart] of chartByMetric) {
      if (series.has(metric)) continue
      chart.destroy()
      chart.element.remove()
      chartByMetric.delete(metric)
    }
    drawCharts(series.keys())
  }

  // -- logs -------------------------------------------------------------------------------

  const loadLogs = async () => {
    if (logStart === 0) {
      // First read: learn how long the log is, then fetch only its end.
      const head = await getLogs(runId, 0, 1, signal)
      logStart = Math.max(0, head.total - LOG_TAIL)
    }
    const page = await getLogs(runId, logStart, LOG_TAIL, signal)
    if (stopped) return
    logStart = page.next_start
    if (page.lines.length === 0 && logTail.length > 0) return
    logTail = [...logTail, ...page.lines].slice(-LOG_TAIL)
    const atBottom = logs.scrollTop + logs.clientHeight >= logs.scrollHeight - 4
    logs.replaceChildren(...logTail.map((line) => h('span', { class: `run-logs__line run-logs__line--${line.stream}` }, `${line.text}\n`)))
    logs.hidden = logTail.length === 0
    logsNote.hidden = logTail.length > 0
    logsNote.textContent = 'No console output.'
    if (atBottom) logs.scrollTop = logs.scrollHeight
  }

  // -- reports ----------------------------------------------------------------------------

  const loadReports = async () => {
    const found = await reportsUsingRun(runId, signal)
    if (stopped) return
    reports.replaceChildren(
      found.length === 0
        ? h('p', { class: 'empty' }, 'No report uses this run yet (a report shows here once it has a version that draws on it).')
        : h(
            'ul',
            { class: 'run-reports__list' },
            ...found.map((report) =>
              h(
                'li',
                {},
                h('a', { href: reportPath(report.id) }, report.title.trim() || 'Untitled report'),
                h('span', { class: 'run-reports__meta' }, ` · ${report.project} · version ${report.version_number} `, timeCell(report.versioned_at)),
              ),
            ),
          ),
    )
  }

  // -- live -------------------------------------------------------------------------------

  const quietly = (work: () => Promise<void>) => {
    work().catch((error: unknown) => {
      if (!stopped && !signal.aborted) console.warn('coreport: could not refresh the run', error)
    })
  }

  /** Read the summary, state and log again soon (once, however many rows arrive). */
  const scheduleFollowUp = () => {
    if (followUp !== null || stopped) return
    followUp = window.setTimeout(() => {
      followUp = null
      quietly(refreshRun)
      quietly(loadLogs)
    }, FOLLOW_UP)
  }

  const poll = () => {
    pollTimer = null
    if (stopped) return
    if (run?.state === 'running') {
      quietly(refreshRun)
      quietly(loadLogs)
    }
    pollTimer = window.setTimeout(poll, POLL_EVERY)
  }

  const stream = () => {
    const events = new EventSource(runStreamUrl([runId]))
    // Open means subscribed (the server subscribes before it answers): read the history
    // then, and after every reconnect, since rows logged while away are not replayed.
    events.addEventListener('open', () => {
      streamOpen = true
      showLive()
      quietly(loadHistory)
    })
    events.addEventListener('history', (event) => {
      const data = JSON.parse((event as MessageEvent<string>).data) as { run_id: string; rows: LiveRow[] }
      if (data.run_id !== runId) return
      rowsDuringLoad?.push(...data.rows)
      drawCharts(mergeLiveRows(series, data.rows))
      scheduleFollowUp()
    })
    events.addEventListener('gap', () => quietly(loadHistory))
    events.addEventListener('error', () => {
      streamOpen = false
      showLive()
      // No stream (yet): the charts still show what is stored.
      if (!historyAsked) quietly(loadHistory)
      // EventSource reconnects by itself unless the server refused the stream outright.
      if (events.readyState === EventSource.CLOSED && source === events) source = null
    })
    source = events
  }

  getRun(runId, signal).then(
    (info) => {
      if (stopped) return
      showRun(info)
      // The history is read once the stream is open, so no row falls between the two.
      stream()
      quietly(loadLogs)
      quietly(loadReports)
      pollTimer = window.setTimeout(poll, POLL_EVERY)
    },
    fail,
  )

  return () => {
    stopped = true
    requests.abort()
    source?.close()
    if (pollTimer !== null) window.clearTimeout(pollTimer)
    if (followUp !== null) window.clearTimeout(followUp)
    for (const chart of chartByMetric.values()) chart.destroy()
  }
}

function section(title: string, id: string, ...children: HTMLElement[]): HTMLElement {
  return h('section', { class: 'run-section', 'aria-labelledby': id }, h('h2', { id, class: 'run-section__title' }, title), ...children)
}

function keyValues(value: Record<string, unknown>, empty: string, label: string): HTMLElement {
  const rows = flattenObject(value)
  if (rows.length === 0) return h('p', { class: 'empty' }, empty)
  return h(
    'table',
    { class: 'kv-table', 'aria-label': label },
    h('tbody', {}, ...rows.map(([key, item]) => h('tr', {}, h('th', { scope: 'row' }, key), h('td', {}, formatValue(item))))),
  )
}

function codeReference(run: RunInfo): HTMLElement {
  const { git_commit: commit, repository, diff_summary: diff } = run.code
  if (!commit && !repository && !diff) return h('p', { class: 'empty' }, 'No code reference was logged.')
  const url = commitUrl(repository, commit)
  const rows: HTMLElement[] = []
  if (repository) rows.push(h('tr', {}, h('th', { scope: 'row' }, 'Repository'), h('td', {}, url ? h('a', { href: url.replace(/\/commit\/.*$/, ''), target: '_blank', rel: 'noopener noreferrer' }, repository) : repository)))
  if (commit) {
    const text = h('code', {}, commit)
    rows.push(h('tr', {}, h('th', { scope: 'row' }, 'Commit'), h('td', {}, url && commit ? h('a', { href: url, target: '_blank', rel: 'noopener noreferrer' }, text) : text)))
  }
  return h(
    'div',
    {},
    rows.length > 0 ? h('table', { class: 'kv-table', 'aria-label': 'Code' }, h('tbody', {}, ...rows)) : null,
    diff ? h('details', { class: 'run-diff' }, h('summary', {}, 'Uncommitted changes'), h('pre', {}, diff)) : null,
  )
}
