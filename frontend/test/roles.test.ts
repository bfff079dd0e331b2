import { describe, expect, it } from 'vitest'

import type { Member, ShareLink, UserInfo } from '../src/api'
import {
  LAST_OWNER_REASON,
  addableUsers,
  capabilitiesOf,
  embedLabel,
  embedSnippet,
  expiryTime,
  isLastOwner,
  linkState,
  removalBlocked,
  roleChoices,
  roleSentence,
  shareUrl,
  sortLinks,
  sortMembers,
} from '../src/views/roles'

const member = (user_id: string, role: Member['role']): Member => ({ user_id, role, added_by: null, added_at: '2026-01-01T00:00:00Z' })
const user = (id: string, name: string): UserInfo => ({ id, name, email: null, color: '#000000', admin: false })
const link = (prefix: string, fields: Partial<ShareLink> = {}): ShareLink => ({
  prefix,
  report_id: 'r1',
  role: 'viewer',
  created_by: 'u_ada',
  created_at: '2026-01-01T00:00:00Z',
  expires_at: null,
  revoked_at: null,
  ...fields,
})

describe('role capabilities', () => {
  it('follow the table in docs/security.md', () => {
    expect(capabilitiesOf('owner')).toEqual({ edit: true, comment: true, manage: true })
    expect(capabilitiesOf('editor')).toEqual({ edit: true, comment: true, manage: false })
    expect(capabilitiesOf('commenter')).toEqual({ edit: false, comment: true, manage: false })
    expect(capabilitiesOf('viewer')).toEqual({ edit: false, comment: false, manage: false })
    expect(capabilitiesOf(null)).toEqual({ edit: false, comment: false, manage: false })
  })

  it('are said in a sentence', () => {
    expect(roleSentence('editor')).toBe('You are an editor of this report: you can edit and comment.')
    expect(roleSentence('viewer')).toBe('You are a viewer of this report: you can read.')
    expect(roleSentence('owner')).toBe('You are an owner of this report: you can edit, comment and manage who has access.')
    expect(roleSentence(null)).toBe('You have no access to this report.')
  })
})

describe('member rules', () => {
  const members = [member('u_ada', 'owner'), member('u_grace', 'viewer')]

  it('keep the only owner an owner', () => {
    expect(isLastOwner('u_ada', members)).toBe(true)
    expect(isLastOwner('u_grace', members)).toBe(false)
    const choices = roleChoices(members[0], members)
    expect(choices.map((c) => c.role)).toEqual(['owner', 'editor', 'commenter', 'viewer'])
    expect(choices.filter((c) => !c.disabled).map((c) => c.role)).toEqual(['owner'])
    expect(removalBlocked(members[0], members)).toBe(LAST_OWNER_REASON)
  })

  it('let anyone else change role or leave', () => {
    expect(roleChoices(members[1], members).every((c) => !c.disabled)).toBe(true)
    expect(removalBlocked(members[1], members)).toBeNull()
    const twoOwners = [...members, member('u_alan', 'owner')]
    expect(isLastOwner('u_ada', twoOwners)).toBe(false)
    expect(roleChoices(twoOwners[0], twoOwners).every((c) => !c.disabled)).toBe(true)
  })

  it('list owners first, then by name', () => {
    const names: Record<string, string> = { u_ada: 'Ada', u_grace: 'Grace', u_alan: 'Alan', u_bob: 'Bob' }
    const sorted = sortMembers([member('u_grace', 'viewer'), member('u_bob', 'editor'), member('u_ada', 'viewer'), member('u_alan', 'owner')], (id) => names[id])
    expect(sorted.map((m) => m.user_id)).toEqual(['u_alan', 'u_bob', 'u_ada', 'u_grace'])
  })

  it('offer to add only people who are not members yet', () => {
    const users = [user('u_grace', 'Grace'), user('u_ada', 'Ada'), user('u_alan', 'Alan')]
    expect(addableUsers(users, members).map((u) => u.name)).toEqual(['Alan'])
  })
})

describe('share links', () => {
  const now = new Date('2026-03-01T12:00:00Z')

  it('turn an expiry choice into an ISO time', () => {
    expect(expiryTime('never', now)).toBeNull()
    expect(expiryTime('1d', now)).toBe('2026-03-02T12:00:00.000Z')
    expect(expiryTime('30d', now)).toBe('2026-03-31T12:00:00.000Z')
  })

  it('are active, expired or revoked', () => {
    expect(linkState(link('a'), now)).toBe('active')
    expect(linkState(link('b', { expires_at: '2026-03-02T00:00:00Z' }), now)).toBe('active')
    expect(linkState(link('c', { expires_at: '2026-02-01T00:00:00+00:00' }), now)).toBe('expired')
    expect(linkState(link('d', { expires_at: '2026-02-01T00:00:00Z', revoked_at: '2026-01-15T00:00:00Z' }), now)).toBe('revoked')
  })

  it('list links in use first, newest first', () => {
    const links = [
      link('old', { created_at: '2026-01-01T00:00:00Z' }),
      link('revoked', { created_at: '2026-02-20T00:00:00Z', revoked_at: '2026-02-21T00:00:00Z' }),
      link('new', { created_at: '2026-02-01T00:00:00Z' }),
      link('expired', { created_at: '2026-02-25T00:00:00Z', expires_at: '2026-02-26T00:00:00Z' }),
    ]
    expect(sortLinks(links, now).map((l) => l.prefix)).toEqual(['new', 'old', 'expired', 'revoked'])
  })

  it('open the report page with the token', () => {
    expect(shareUrl('https://coreport.example', 'ab_c-1', 'csl_12345678_s3cr+t')).toBe(
      'https://coreport.example/r/ab_c-1?token=csl_12345678_s3cr%2Bt',
    )
  })
})

describe('embed links', () => {
  it('say what they show', () => {
    const titles = new Map([['p1', 'Loss']])
    expect(embedLabel({ kind: 'report' }, titles)).toBe('Whole report')
    expect(embedLabel({ kind: 'panel', panel_id: 'p1' }, titles)).toBe('Panel: Loss')
    expect(embedLabel({ kind: 'panel', panel_id: 'gone' }, titles)).toBe('Panel: a panel no longer in the report')
  })

  it('come with an iframe whose attributes are escaped', () => {
    expect(embedSnippet('https://x.example/embed/cse_1?a=1&b=2', 'Loss "train" <v2>')).toBe(
      '<iframe src="https://x.example/embed/cse_1?a=1&amp;b=2" title="Loss &quot;train&quot; &lt;v2&gt;" width="800" height="450" style="border:0" loading="lazy"></iframe>',
    )
  })
})
