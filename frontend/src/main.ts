/**
 * The app shell: picks the view for the current path, and turns clicks on
 * same-origin links into history navigation so a report opens without a reload.
 */

import './styles.css'

import { loadIdentity } from './identity'
import { RecentReports } from './recentReports'
import { parseRoute } from './router'
import { h } from './views/dom'
import { renderHome } from './views/home'
import { renderReportPage } from './views/reportPage'

/** Where the report sockets live: same host, `ws(s)://host/ws/reports/{id}`. */
function wsBase(): string {
  // Build-time override for developing against another server.
  const override = import.meta.env.VITE_COREPORT_WS_BASE
  if (override) return override
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:'
  return `${scheme}//${window.location.host}/ws/reports`
}

const root = document.getElementById('app')!
const storage = window.localStorage
const identity = loadIdentity(storage)
const recent = new RecentReports(storage)
let leave: (() => void) | null = null

function show(): void {
  leave?.()
  leave = null
  const route = parseRoute(window.location.pathname)
  switch (route.name) {
    case 'home':
      leave = renderHome(root, { recent, navigate })
      break
    case 'report':
      leave = renderReportPage(root, { reportId: route.reportId, wsBase: wsBase(), identity, recent, storage })
      break
    case 'not-found':
      document.title = 'Not found · coreport'
      root.replaceChildren(
        h('header', { class: 'topbar' }, h('a', { href: '/', class: 'brand' }, 'coreport')),
        h(
          'main',
          { class: 'home', id: 'main' },
          h('h1', {}, 'Page not found'),
          h('p', {}, 'There is nothing at ', h('code', {}, route.path), '. ', h('a', { href: '/' }, 'Go to your reports'), '.'),
        ),
      )
      break
  }
}

function navigate(path: string): void {
  window.history.pushState(null, '', path)
  show()
}

document.addEventListener('click', (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return
  const link = (event.target as Element).closest('a')
  if (!link || link.target || link.hasAttribute('download') || link.origin !== window.location.origin) return
  // Links inside the editor are content, not app navigation.
  if (link.closest('.ProseMirror')) return
  // In-page anchors (the skip link) keep their default behaviour.
  if (link.hash && link.pathname === window.location.pathname) return
  event.preventDefault()
  if (link.pathname !== window.location.pathname) navigate(link.pathname)
})
window.addEventListener('popstate', show)
show()
