/**
 * Client-side routes. The server answers every path whose last segment has no dot with
 * index.html (src/coreport/web/static.py), so these all load the app.
 */

import { isReportId } from './reportId'

export type Route =
  | { name: 'home' }
  | { name: 'report'; reportId: string }
  | { name: 'embed'; token: string }
  | { name: 'projects' }
  | { name: 'project'; project: string }
  | { name: 'run'; runId: string }
  | { name: 'not-found'; path: string }


export function parseRoute(pathname: string): Route {
  if (pathname === '/' || pathname === '') return { name: 'home' }
  const match = /^\/r\/([^/]+)\/?$/.exec(pathname)
  if (match) {
    const reportId = safeDecode(match[1])
    if (reportId !== null && isReportId(reportId)) return { name: 'report', reportId }
  }
  // Any token: the embed page itself says when a link does not work (never the sign-in page).
  const embed = /^\/embed\/([^/]+)\/?$/.exec(pathname)
  if (embed) return { name: 'embed', token: safeDecode(embed[1]) ?? embed[1] }
  if (/^\/projects\/?$/.test(pathname)) return { name: 'projects' }
  const project = /^\/projects\/([^/]+)\/?$/.exec(pathname)
  if (project) {
    const name = safeDecode(project[1])
    if (name !== null && PROJECT.test(name)) return { name: 'project', project: name }
  }
  const run = /^\/runs\/([^/]+)\/?$/.exec(pathname)
  if (run) {
    const runId = safeDecode(run[1])
    if (runId !== null && RUN_ID.test(runId)) return { name: 'run', runId }
  }
  return { name: 'not-found', path: pathname }
}

export function reportPath(reportId: string): string {
  return `/r/${encodeURIComponent(reportId)}`
}

/** The embed page of an embed link's token. */
export function embedPath(token: string): string {
  return `/embed/${encodeURIComponent(token)}`
}

/** The runs API's project names and run ids (src/coreport/runs/schemas.py). */
const PROJECT = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/
const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/

export function projectsPath(): string {
  return '/projects'
}

/**
 * A project's runs page. A name with a dot gets a trailing slash: the server takes a
 * last segment with a dot for a file (`/projects/mnist.v2` would be a 404 on reload).
 */
export function projectPath(project: string): string {
  const path = `/projects/${encodeURIComponent(project)}`
  return project.includes('.') ? `${path}/` : path
}

export function runPath(runId: string): string {
  return `/runs/${encodeURIComponent(runId)}`
}

function safeDecode(segment: string): string | null {
  try {
    return decodeURIComponent(segment)
  } catch {
    // A malformed escape is not a report id; the caller shows "not found".
    return null
  }
}
