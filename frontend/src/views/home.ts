/** The home page: start a new report, or reopen one from this browser's list. */

import { newReportId } from '../reportId'
import type { RecentReports } from '../recentReports'
import { timeAgo } from '../relativeTime'
import { reportPath } from '../router'
import { h } from './dom'
import { icon } from './icons'
import { runsTopbar } from './runsPages'

export interface HomeDeps {
  recent: RecentReports
  navigate: (path: string) => void
}

export function renderHome(root: HTMLElement, { recent, navigate }: HomeDeps): () => void {
  document.title = 'coreport'
  const list = h('ul', { class: 'report-list', 'aria-labelledby': 'recent-heading' })
  const empty = h('p', { class: 'empty' }, 'Reports you open in this browser appear here.')

  const newButton = h('button', { type: 'button', class: 'button button--primary' }, icon('newReport'), 'New report')
  newButton.addEventListener('click', () => navigate(reportPath(newReportId())))

  const renderList = () => {
    const reports = recent.list()
    empty.hidden = reports.length > 0
    list.hidden = reports.length === 0
    list.replaceChildren(
      ...reports.map((report) => {
        const title = report.title.trim() || 'Untitled report'
        const remove = h(
          'button',
          { type: 'button', class: 'icon-button', 'aria-label': `Remove “${title}” from this list`, title: 'Remove from list' },
          icon('close', 16),
        )
        remove.addEventListener('click', () => {
          recent.forget(report.id)
          renderList()
        })
        return h(
          'li',
          { class: 'report-list__item' },
          h(
            'a',
            { href: reportPath(report.id), class: 'report-list__link', 'data-report-id': report.id },
            icon('report'),
            h('span', { class: 'report-list__title' }, title),
            h('span', { class: 'report-list__meta' }, `opened ${timeAgo(report.openedAt, Date.now())}`),
          ),
          remove,
        )
      }),
    )
  }

  root.replaceChildren(
    // The top bar links to the runs pages (projects, runs) next to the reports.
    runsTopbar('reports'),
    h(
      'main',
      { class: 'home', id: 'main' },
      h('h1', { class: 'home__heading' }, 'Reports'),
      h('p', { class: 'home__lede' }, 'Write up experiments together, live: everyone who opens a report’s link edits it with you.'),
      newButton,
      h(
        'section',
        { class: 'home__recent', 'aria-labelledby': 'recent-heading' },
        h('h2', { id: 'recent-heading' }, 'Recently opened'),
        list,
        empty,
      ),
    ),
  )
  renderList()
  // Another tab may open reports meanwhile: keep the list current.
  const onStorage = (event: StorageEvent) => {
    if (event.key === null || event.key.startsWith('coreport.recent')) renderList()
  }
  window.addEventListener('storage', onStorage)
  return () => window.removeEventListener('storage', onStorage)
}
