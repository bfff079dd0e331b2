import { describe, expect, it, vi } from 'vitest'

import { COLORS, IDENTITY_KEY, initials, loadIdentity, randomIdentity } from '../src/identity'
import { MemoryStorage } from './memoryStorage'

describe('identity', () => {
  it('makes a friendly two-word name and a palette colour', () => {
    const identity = randomIdentity()
    expect(identity.name).toMatch(/^[A-Z][a-z]+ [A-Z][a-z]+$/)
    expect(COLORS).toContain(identity.color)
    expect(identity.id).toMatch(/^[a-z0-9]{12}$/)
  })

  it('remembers the identity across loads', () => {
    const storage = new MemoryStorage()
    const first = loadIdentity(storage)
    expect(loadIdentity(storage)).toEqual(first)
  })

  it('replaces an unreadable or invalid stored identity', () => {
    const storage = new MemoryStorage()
    storage.setItem(IDENTITY_KEY, '{oops')
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const fresh = loadIdentity(storage)
    expect(warn).toHaveBeenCalledOnce()
    warn.mockRestore()
    expect(JSON.parse(storage.getItem(IDENTITY_KEY)!)).toEqual(fresh)
    storage.setItem(IDENTITY_KEY, JSON.stringify({ id: 'x', name: 'Bob', color: 'red' }))
    expect(loadIdentity(storage).color).toMatch(/^#[0-9a-f]{6}$/i)
  })

  it('colours all work as caret colours (six-digit hex)', () => {
    for (const color of COLORS) expect(color).toMatch(/^#[0-9a-f]{6}$/)
  })

  it('derives initials', () => {
    expect(initials('Anonymous Otter')).toBe('AO')
    expect(initials('ada')).toBe('A')
    expect(initials('  Grace  Brewster Hopper ')).toBe('GH')
    expect(initials('')).toBe('?')
  })
})
