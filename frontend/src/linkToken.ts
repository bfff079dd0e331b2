/**
 * Share links (`/r/{id}?token=csl_…`, docs/security.md): whoever opens one reads or
 * comments on that report without an account. The token is taken out of the address
 * bar as soon as the app starts (so it is not left in history or copied on by
 * accident), kept for this tab in sessionStorage (a reload still works), and used —
 * as the REST bearer and the WebSockets' `?token=` — only while this browser is not
 * signed in: a signed-in person keeps their own, usually higher, role.
 */

import { setBearer } from './api'
import { parseRoute } from './router'

/** Share link tokens start so (src/coreport/access/tokens.py, LINK_KIND). */
const LINK_TOKEN = /^csl_[A-Za-z0-9_-]+$/

const storageKey = (reportId: string): string => `coreport.link.${reportId}`

/**
 * The share link token in `url` and the address without it, if `url` is a report
 * page opened through a share link; `null` otherwise.
 */
export function takeLinkToken(url: URL): { reportId: string; token: string; cleanUrl: string } | null {
  const route = parseRoute(url.pathname)
  const token = url.searchParams.get('token')
  if (route.name !== 'report' || token === null || !LINK_TOKEN.test(token)) return null
  const clean = new URL(url.href)
  clean.searchParams.delete('token')
  return { reportId: route.reportId, token, cleanUrl: clean.pathname + clean.search + clean.hash }
}

/** Move a share link token from the address bar into this tab's storage. */
export function adoptLinkToken(storage: Storage, history: History, location: Location): void {
  const taken = takeLinkToken(new URL(location.href))
  if (taken === null) return
  storage.setItem(storageKey(taken.reportId), taken.token)
  history.replaceState(history.state, '', taken.cleanUrl)
}

export function storedLinkToken(storage: Storage, reportId: string): string | null {
  const token = storage.getItem(storageKey(reportId))
  return token !== null && LINK_TOKEN.test(token) ? token : null
}

/** Forget a token the server refused (revoked or expired): the sign-in page shows next. */
export function forgetLinkToken(storage: Storage, reportId: string): void {
  storage.removeItem(storageKey(reportId))
}

let active: string | null = null

/** Act through `token` (or stop, with `null`): REST requests and new report sockets. */
export function useLinkToken(token: string | null): void {
  active = token
  setBearer(token)
}

/** The token report sockets authenticate with, while a share link is in use. */
export function activeLinkToken(): string | null {
  return active
}
