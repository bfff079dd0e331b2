/** Client-side routes. The server answers every `/r/*` path with index.html. */

import { isReportId } from './reportId'

export type Route =
  | { name: 'home' }
  | { name: 'report'; reportId: string }
  | { name: 'not-found'; path: string }

export function parseRoute(pathname: string): Route {
  if (pathname === '/' || pathname === '') return { name: 'home' }
  const match = /^\/r\/([^/]+)\/?$/.exec(pathname)
  if (match) {
    const reportId = safeDecode(match[1])
    if (reportId !== null && isReportId(reportId)) return { name: 'report', reportId }
  }
  return { name: 'not-found', path: pathname }
}

export function reportPath(reportId: string): string {
  return `/r/${encodeURIComponent(reportId)}`
}

function safeDecode(segment: string): string | null {
  try {
    return decodeURIComponent(segment)
  } catch {
    // A malformed escape is not a report id; the caller shows "not found".
    return null
  }
}
