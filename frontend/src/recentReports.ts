/**
 * Reports this browser opened recently, newest first, kept in localStorage.
 *
 * A stand-in for the server's report list (which needs sign-in); it stays useful
 * afterwards as the "recently opened" shelf of the home page.
 */

import { isReportId } from './reportId'

export interface RecentReport {
  id: string
  title: string
  /** Milliseconds since the epoch. */
  openedAt: number
}

export const RECENT_REPORTS_KEY = 'coreport.recentReports'
export const MAX_RECENT_REPORTS = 30

export class RecentReports {
  constructor(
    private readonly storage: Storage,
    private readonly now: () => number = Date.now,
  ) {}

  /** Newest first. Entries that do not look like ours are dropped, not fatal. */
  list(): RecentReport[] {
    const raw = this.storage.getItem(RECENT_REPORTS_KEY)
    if (raw === null) return []
    let parsed: unknown
    try {
      parsed = JSON.parse(raw)
    } catch (error) {
      console.warn('coreport: ignoring unreadable recent reports list', error)
      return []
    }
    if (!Array.isArray(parsed)) return []
    return parsed.filter(isRecentReport).sort((a, b) => b.openedAt - a.openedAt)
  }

  /** Record that the report was opened now (moves it to the top). */
  opened(id: string, title?: string): void {
    const existing = this.list().find((r) => r.id === id)
    const entry: RecentReport = { id, title: title ?? existing?.title ?? '', openedAt: this.now() }
    this.save([entry, ...this.list().filter((r) => r.id !== id)])
  }

  /** Keep the shown title current without changing the order. */
  retitle(id: string, title: string): void {
    const reports = this.list()
    const entry = reports.find((r) => r.id === id)
    if (!entry || entry.title === title) return
    entry.title = title
    this.save(reports)
  }

  forget(id: string): void {
    this.save(this.list().filter((r) => r.id !== id))
  }

  private save(reports: RecentReport[]): void {
    this.storage.setItem(RECENT_REPORTS_KEY, JSON.stringify(reports.slice(0, MAX_RECENT_REPORTS)))
  }
}

function isRecentReport(value: unknown): value is RecentReport {
  if (typeof value !== 'object' || value === null) return false
  const r = value as Record<string, unknown>
  return (
    typeof r.id === 'string' &&
    isReportId(r.id) &&
    typeof r.title === 'string' &&
    typeof r.openedAt === 'number' &&
    Number.isFinite(r.openedAt)
  )
}
