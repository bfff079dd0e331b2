import { describe, expect, it } from 'vitest'

import { isReportId, newReportId, NEW_ID_LENGTH } from '../src/reportId'
import { parseRoute, reportPath } from '../src/router'

describe('newReportId', () => {
  it('makes url-safe ids the server accepts', () => {
    for (let i = 0; i < 200; i++) {
      const id = newReportId()
      expect(id).toMatch(/^[A-Za-z0-9_-]{16}$/)
      expect(isReportId(id)).toBe(true)
    }
  })

  it('is long enough not to collide', () => {
    expect(NEW_ID_LENGTH).toBeGreaterThanOrEqual(12)
    const ids = new Set(Array.from({ length: 1000 }, () => newReportId()))
    expect(ids.size).toBe(1000)
  })

  it('maps each 6-bit value to one symbol', () => {
    const all = (bytes: Uint8Array) => bytes.map((_, i) => i * 4) // 0, 4, ..., 60: covers the alphabet's spread
    expect(newReportId(all)).toBe('AEIMQUYcgkosw048')
    expect(newReportId((bytes) => bytes.fill(63))).toBe('-'.repeat(NEW_ID_LENGTH))
    expect(newReportId((bytes) => bytes.fill(255))).toBe('-'.repeat(NEW_ID_LENGTH))
  })
})

describe('isReportId', () => {
  it.each(['a', 'abc_DEF-123', 'x'.repeat(64)])('accepts %s', (id) => expect(isReportId(id)).toBe(true))
  it.each(['', 'has space', 'slash/no', 'dot.no', 'x'.repeat(65), 'ünï'])('rejects %j', (id) =>
    expect(isReportId(id)).toBe(false),
  )
})

describe('routes', () => {
  it('parses the home page and report pages', () => {
    expect(parseRoute('/')).toEqual({ name: 'home' })
    expect(parseRoute('/r/abc_123')).toEqual({ name: 'report', reportId: 'abc_123' })
    expect(parseRoute('/r/abc_123/')).toEqual({ name: 'report', reportId: 'abc_123' })
  })

  it('rejects paths that are not reports', () => {
    expect(parseRoute('/r/')).toMatchObject({ name: 'not-found' })
    expect(parseRoute('/r/bad.id')).toMatchObject({ name: 'not-found' })
    expect(parseRoute('/r/%E0%A4%A')).toMatchObject({ name: 'not-found' })
    expect(parseRoute('/settings')).toMatchObject({ name: 'not-found' })
  })

  it('round-trips a report path', () => {
    const id = newReportId()
    expect(parseRoute(reportPath(id))).toEqual({ name: 'report', reportId: id })
  })
})
