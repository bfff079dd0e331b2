import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

import { CLOSE_CODES, describeClose, shouldReconnect } from '../src/closeCodes'

const shared = JSON.parse(
  readFileSync(new URL('../../src/coreport/protocol/close_codes.json', import.meta.url), 'utf-8'),
) as Record<string, { code: number; reason: string; retry: boolean }>

describe('close codes', () => {
  it('reads every code of the shared table, skipping comments', () => {
    const entries = Object.entries(shared).filter(([name]) => !name.startsWith('_'))
    expect(CLOSE_CODES.size).toBe(entries.length)
    for (const [name, raw] of entries) {
      expect(CLOSE_CODES.get(raw.code)).toEqual({ name, ...raw })
    }
  })

  it('stops reconnecting when the server revokes access', () => {
    expect(describeClose(4410)).toMatchObject({ name: 'ACCESS_REVOKED', retry: false })
    expect(shouldReconnect({ code: 4410, reason: 'access revoked' })).toBe(false)
    expect(shouldReconnect({ code: 4403, reason: '' })).toBe(false)
  })

  it('reconnects after transient closes', () => {
    expect(shouldReconnect({ code: 1012, reason: '' })).toBe(true)
    expect(shouldReconnect({ code: 1013, reason: '' })).toBe(true)
    expect(shouldReconnect({ code: 1011, reason: '' })).toBe(true)
  })

  it('treats unknown codes by range: 44xx permanent, others transient', () => {
    expect(describeClose(1006)).toMatchObject({ name: 'UNKNOWN', retry: true, reason: 'connection lost' })
    expect(describeClose(4499, 'custom refusal')).toMatchObject({ retry: false, reason: 'custom refusal' })
    expect(describeClose(4999)).toMatchObject({ retry: true })
  })
})
