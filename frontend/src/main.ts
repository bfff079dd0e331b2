/**
 * The app shell: picks the view for the current path, and turns clicks on
 * same-origin links into history navigation so a report opens without a reload.
 * An embed page (`/embed/{token}`, inside another site's frame) is not the app:
 * it gets its own small view and none of the shell (no session, no storage).
 */

import './styles.css'

import { notifyUnauthorized, onUnauthorized } from './api'
import { currentAccount, identityFor, signOut, type Account } from './auth'
import { loadIdentity } from './identity'
import { activeLinkToken, adoptLinkToken, forgetLinkToken, storedLinkToken, useLinkToken } from './linkToken'
import { RecentReports } from './recentReports'
import { parseRoute } from './router'
import { h } from './views/dom'
import { renderHome } from './views/home'
// The project pages are small and share the home page's top bar: not a chunk of their own.
import { renderProject, renderProjects } from './views/runsPages'
import { accountChip, renderSignIn } from './views/signIn'

/** A page: draws itself into the root and returns its cleanup. */
type Page = (root: HTMLElement) => () => void

/**
 * Show a page whose code is its own chunk (the editor, the runs pages): "Loading…" until
 * it has loaded. The returned cleanup also covers leaving before it has.
 */
function lazyPage(root: HTMLElement, load: () => Promise<Page>): () => void {
  let left = false
  let leave: (() => void) | null = null
  root.replaceChildren(h('p', { class: 'loading', role: 'status' }, 'Loading…'))
  load().then(
    (page) => {
      if (!left) leave = page(root)
    },
    (error: unknown) => {
      if (!left) root.replaceChildren(h('p', { class: 'form-error', role: 'alert' }, `Could not load this page: ${String(error)}`))
    },
  )
  return () => {
    left = true
    leave?.()
  }
}

/** Where the report sockets live: same host, `ws(s)://host/ws/reports/{id}`. */
function wsBase(): string {
  // Build-time override for developing against another server.
  const override = import.meta.env.VITE_COREPORT_WS_BASE
  if (override) return override
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:'
  return `${scheme}//${window.location.host}/ws/reports`
}

const root = document.getElementById('app')!
const first = parseRoute(window.location.pathname)
if (first.name === 'embed') {
  import('./views/embed').then(
    ({ renderEmbed }) => renderEmbed(root, first.token),
    (error: unknown) => root.replaceChildren(h('p', { role: 'alert' }, `Could not load this embed: ${String(error)}`)),
  )
} else {
  startApp()
}

function startApp(): void {
  const storage = window.localStorage
  adoptLinkToken(window.sessionStorage, window.history, window.location)
  const localIdentity = loadIdentity(storage)
  const recent = new RecentReports(storage)
  let leave: (() => void) | null = null
  let account: Account | null = null

  function show(): void {
    leave?.()
    leave = null
    if (account === null) {
      root.replaceChildren(h('p', { class: 'loading', role: 'status' }, 'Loading…'))
      void currentAccount().then(
        (found) => {
          account = found
          show()
        },
        (error: unknown) => {
          root.replaceChildren(h('p', { class: 'form-error', role: 'alert' }, `The server did not answer: ${String(error)}`))
        },
      )
      return
    }
    const route = parseRoute(window.location.pathname)
    // Not signed in but holding a share link for this report: open it through the link.
    const link =
      account.kind === 'signed-out' && route.name === 'report'
        ? storedLinkToken(window.sessionStorage, route.reportId)
        : null
    useLinkToken(link)
    if (account.kind === 'signed-out' && link === null) {
      leave = renderSignIn(root, {
        reason: signedOutReason ?? undefined,
        onSignedIn: (found) => {
          account = found
          signedOutReason = null
          show()
        },
      })
      return
    }
    const identity = identityFor(account, localIdentity)
    switch (route.name) {
      case 'home':
        leave = renderHome(root, { recent, navigate })
        break
      case 'report': {
        const options = {
          reportId: route.reportId,
          wsBase: wsBase(),
          identity,
          recent,
          storage,
          onUnauthorized: notifyUnauthorized,
          // Revoked because this browser signed out (in another tab) or its key was revoked:
          // sign in again. Revoked for this report only: the page says so and stays.
          onRevoked: () => {
            void currentAccount().then(
              (found) => {
                if (found.kind === 'signed-out') notifyUnauthorized()
              },
              (error: unknown) => console.warn('coreport: could not check the session', error),
            )
          },
        }
        leave = lazyPage(root, async () => {
          const { renderReportPage } = await import('./views/reportPage')
          return (root) => renderReportPage(root, options)
        })
        break
      }
      case 'projects':
        leave = renderProjects(root)
        break
      case 'project':
        leave = renderProject(root, route.project)
        break
      case 'run': {
        const runId = route.runId
        leave = lazyPage(root, async () => {
          const { renderRunPage } = await import('./views/runsRunPage')
          return (root) => renderRunPage(root, runId)
        })
        break
      }
      case 'embed':
        // Reached from inside the app: load the page afresh, as an embed loads.
        window.location.reload()
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
    // The query is part of where a link goes (a project's filtered runs).
    const target = link.pathname + link.search
    if (target !== window.location.pathname + window.location.search) navigate(target)
  })
  window.addEventListener('popstate', show)

  /** Where a 401 or a 4401 close lands: the sign-in page, then back to the same path. */
  let signedOutReason: string | null = null
  onUnauthorized(() => {
    const link = activeLinkToken()
    if (link !== null) {
      // The share link was revoked or has expired.
      const route = parseRoute(window.location.pathname)
      if (route.name === 'report') forgetLinkToken(window.sessionStorage, route.reportId)
      useLinkToken(null)
      signedOutReason = 'This share link no longer works (revoked or expired). Sign in, or ask for a new link.'
      show()
      return
    }
    if (account?.kind === 'signed-out') return
    account = { kind: 'signed-out' }
    signedOutReason = 'You are signed out (or your session ended). Sign in to continue.'
    show()
  })

  /** The signed-in person in every top bar (not when the server runs without auth). */
  const addAccountChip = () => {
    if (account?.kind !== 'user') return
    const bar = root.querySelector('.topbar')
    if (!bar || bar.querySelector('.account')) return
    bar.append(
      accountChip(account.user.name, () => {
        void signOut().then(
          () => {
            account = { kind: 'signed-out' }
            signedOutReason = 'You signed out.'
            show()
          },
          (error: unknown) => window.alert(`Could not sign out: ${String(error)}`),
        )
      }),
    )
  }
  new MutationObserver(addAccountChip).observe(root, { childList: true })
  show()
}
