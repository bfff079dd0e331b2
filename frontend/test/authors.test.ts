import { describe, expect, it } from 'vitest'

import { authorLabel, nonPersonAuthor } from '../src/comments/authors'

describe('comment author labels', () => {
  it('names the principals the server stores for callers without a user', () => {
    // coreport.access.model.Principal.label: an unauthenticated server, a share link.
    expect(nonPersonAuthor('local')).toBe('API (no sign-in)')
    expect(nonPersonAuthor('link csl_1a2b3c4d')).toBe('Share link csl_1a2b3c4d')
    expect(authorLabel('local', undefined)).toBe('API (no sign-in)')
  })

  it('prefers a known name and falls back to "Someone" for an unknown user id', () => {
    expect(authorLabel('u_94a02e5343cc', 'Ada')).toBe('Ada')
    expect(authorLabel('u_94a02e5343cc', undefined)).toBe('Someone')
    expect(nonPersonAuthor('u_94a02e5343cc')).toBeNull()
    expect(nonPersonAuthor('k3x9a0b1c2d3')).toBeNull()
  })
})
