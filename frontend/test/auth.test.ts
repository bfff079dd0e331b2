import { describe, expect, it } from 'vitest'

import { readCookie } from '../src/api'
import { accountOf, identityFor } from '../src/auth'

const local = { id: 'local', name: 'Calm Otter', color: '#4263eb' }
const user = { id: 'u_1', name: 'ada', email: null, color: '#7048e8', admin: false }

describe('accounts', () => {
  it('read the session answer', () => {
    expect(accountOf({ via: 'session', user, admin: false, csrf_token: 't' })).toEqual({ kind: 'user', user })
    expect(accountOf({ via: 'insecure', user: null, admin: true, csrf_token: '' })).toEqual({ kind: 'open' })
    expect(accountOf({ via: 'link', user: null, admin: false, csrf_token: '' })).toEqual({ kind: 'signed-out' })
  })

  it('take the signed-in user as the identity, else the local one', () => {
    expect(identityFor({ kind: 'user', user }, local)).toEqual({ id: 'u_1', name: 'ada', color: '#7048e8' })
    expect(identityFor({ kind: 'user', user: { ...user, color: 'blue' } }, local).color).toBe(local.color)
    expect(identityFor({ kind: 'open' }, local)).toBe(local)
  })

  it('read a cookie', () => {
    expect(readCookie('a=1; coreport_csrf=x%3Dy; b=2', 'coreport_csrf')).toBe('x=y')
    expect(readCookie('a=1', 'coreport_csrf')).toBeNull()
  })
})
