import { describe, expect, it, vi } from 'vitest'

import { KnownRole } from '../src/views/knownRole'
import { MemoryStorage } from './memoryStorage'

describe('the role a browser last heard', () => {
  it('is unknown until heard, then what was heard, "no access" included', () => {
    const storage = new MemoryStorage()
    const known = new KnownRole(storage, 'u_ada', 'r1')
    expect(known.get()).toBeUndefined()
    known.set('viewer')
    expect(new KnownRole(storage, 'u_ada', 'r1').get()).toBe('viewer')
    known.set(null)
    expect(new KnownRole(storage, 'u_ada', 'r1').get()).toBeNull()
  })

  it('is kept per person and per report', () => {
    const storage = new MemoryStorage()
    new KnownRole(storage, 'u_ada', 'r1').set('owner')
    expect(new KnownRole(storage, 'u_grace', 'r1').get()).toBeUndefined()
    expect(new KnownRole(storage, 'u_ada', 'r2').get()).toBeUndefined()
  })

  it('reads anything else stored under its key as unknown', () => {
    const storage = new MemoryStorage()
    storage.setItem('coreport.role.r1.u_ada', 'superuser')
    expect(new KnownRole(storage, 'u_ada', 'r1').get()).toBeUndefined()
  })

  it('survives storage that refuses writes: the page asks the server again next time', () => {
    const storage = new MemoryStorage()
    vi.spyOn(storage, 'setItem').mockImplementation(() => {
      throw new DOMException('full', 'QuotaExceededError')
    })
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const known = new KnownRole(storage, 'u_ada', 'r1')
    known.set('editor')
    expect(known.get()).toBeUndefined()
    expect(warn).toHaveBeenCalledOnce()
    warn.mockRestore()
  })
})
