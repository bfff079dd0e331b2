/**
 * The runs REST API as the runs pages use it (src/coreport/web/runs_api.py,
 * docs/report-api.md "Run references"): projects, runs, history, console logs, the
 * reports that use a run, and the live stream's address.
 */

import { api } from '../api'

export type RunState = 'running' | 'finished' | 'failed' | 'crashed'

export interface ProjectInfo {
  name: string
  created_at: string
  run_count: number
  last_activity: string
}

export interface CodeReference {
  git_commit: string | null
  repository: string | null
  diff_summary: string | null
}

export interface RunInfo {
  id: string
  project: string
  name: string
  state: RunState
  config: Record<string, unknown>
  summary: Record<string, unknown>
  tags: string[]
  code: CodeReference
  created_at: string
  updated_at: string
}

export interface RunPage {
  runs: RunInfo[]
  total: number
  limit: number
  offset: number
  next_offset: number | null
}

export interface SeriesInfo {
  steps: number[]
  values: number[]
  timestamps: number[]
  total_points: number
  sampled: boolean
}

export interface HistoryInfo {
  run_id: string
  max_points: number
  series: Record<string, SeriesInfo>
}

/** One row of the live stream (`event: history`). */
export interface LiveRow {
  step: number
  timestamp: number
  metrics: Record<string, number>
}

export interface LogLine {
  line: number
  text: string
  stream: 'stdout' | 'stderr'
  timestamp: number
}

export interface LogPage {
  lines: LogLine[]
  next_start: number
  total: number
}

export interface RunReport {
  id: string
  project: string
  title: string
  url: string
  version_id: string
  version_number: number
  versioned_at: string
  explicit: boolean
}

const runPath = (runId: string, rest = '') => `/api/runs/${encodeURIComponent(runId)}${rest}`

export async function listProjects(signal?: AbortSignal): Promise<ProjectInfo[]> {
  return (await api<{ projects: ProjectInfo[] }>('GET', '/api/projects', { signal })).projects
}

/** A page of a project's runs; `query` is in the run list's filter syntax, already encoded. */
export function listRuns(project: string, query: string, signal?: AbortSignal): Promise<RunPage> {
  const path = `/api/projects/${encodeURIComponent(project)}/runs`
  return api<RunPage>('GET', query ? `${path}?${query}` : path, { signal })
}

export function getRun(runId: string, signal?: AbortSignal): Promise<RunInfo> {
  return api<RunInfo>('GET', runPath(runId), { signal })
}

/** Every metric of the run, downsampled to `maxPoints` per metric. */
export function getHistory(runId: string, maxPoints: number, signal?: AbortSignal): Promise<HistoryInfo> {
  return api<HistoryInfo>('GET', runPath(runId, `/history?max_points=${maxPoints}`), { signal })
}

export function getLogs(runId: string, start: number, limit: number, signal?: AbortSignal): Promise<LogPage> {
  return api<LogPage>('GET', runPath(runId, `/logs?start=${start}&limit=${limit}`), { signal })
}

export async function reportsUsingRun(runId: string, signal?: AbortSignal): Promise<RunReport[]> {
  return (await api<{ reports: RunReport[] }>('GET', runPath(runId, '/reports'), { signal })).reports
}

/** The Server-Sent Events stream of new history rows of these runs. */
export function runStreamUrl(runIds: readonly string[]): string {
  return `/api/runs/stream?runs=${runIds.map(encodeURIComponent).join(',')}`
}
