import { describe, expect, it, vi } from 'vitest'

import { MAX_RECENT_REPORTS, RECENT_REPORTS_KEY, RecentReports } from '../src/recentReports'
import { timeAgo } from '../src/relativeTime'
import { MemoryStorage } from './memoryStorage'

function store(start = 1000) {
  let now = start
  const storage = new MemoryStorage()
  const recent = new RecentReports(storage, () => now)
  return { storage, recent, tick: (ms = 1) => (now += ms) }
}

describe('RecentReports', () => {
  it('lists opened reports newest first, once each', () => {
    const { recent, tick } = store()
    recent.opened('first')
    tick()
    recent.opened('second')
    tick()
    recent.opened('first')
    expect(recent.list().map((r) => r.id)).toEqual(['first', 'second'])
  })

  it('keeps the title across reopenings and updates it in place', () => {
    const { recent, tick } = store()
    recent.opened('a')
    tick()
    recent.opened('b')
    recent.retitle('a', 'Ablation study')
    expect(recent.list().map((r) => [r.id, r.title])).toEqual([
      ['b', ''],
      ['a', 'Ablation study'],
    ])
    tick()
    recent.opened('a')
    expect(recent.list()[0]).toMatchObject({ id: 'a', title: 'Ablation study' })
  })

  it('ignores retitling a report it does not list', () => {
    const { recent, storage } = store()
    recent.retitle('never-opened', 'x')
    expect(storage.getItem(RECENT_REPORTS_KEY)).toBeNull()
  })

  it('forgets a report', () => {
    const { recent } = store()
    recent.opened('a')
    recent.opened('b')
    recent.forget('a')
    expect(recent.list().map((r) => r.id)).toEqual(['b'])
  })

  it('keeps a bounded number of reports, dropping the oldest', () => {
    const { recent, tick } = store()
    for (let i = 0; i < MAX_RECENT_REPORTS + 5; i++) {
      recent.opened(`r${i}`)
      tick()
    }
    const ids = recent.list().map((r) => r.id)
    expect(ids).toHaveLength(MAX_RECENT_REPORTS)
    expect(ids[0]).toBe(`r${MAX_RECENT_REPORTS + 4}`)
    expect(ids).not.toContain('r0')
  })

  it('survives unreadable or foreign data in storage', () => {
    const { recent, storage } = store()
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    storage.setItem(RECENT_REPORTS_KEY, '{not json')
    expect(recent.list()).toEqual([])
    expect(warn).toHaveBeenCalledOnce()
    warn.mockRestore()
    storage.setItem(
      RECENT_REPORTS_KEY,
      JSON.stringify([{ id: 'ok', title: 't', openedAt: 5 }, { id: 'bad id!', title: '', openedAt: 1 }, 42, null]),
    )
    expect(recent.list()).toEqual([{ id: 'ok', title: 't', openedAt: 5 }])
  })
})

describe('timeAgo', () => {
  const minute = 60_000
  it('reads naturally', () => {
    expect(timeAgo(0, 10_000, 'en')).toBe('just now')
    expect(timeAgo(0, 5 * minute, 'en')).toBe('5 minutes ago')
    expect(timeAgo(0, 26 * 60 * minute, 'en')).toBe('yesterday')
    expect(timeAgo(10, 0, 'en')).toBe('just now')
  })
})
