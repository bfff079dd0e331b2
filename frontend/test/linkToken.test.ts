import { describe, expect, it } from 'vitest'

import { takeLinkToken } from '../src/linkToken'

describe('takeLinkToken', () => {
  it('takes a share link token out of a report address', () => {
    const taken = takeLinkToken(new URL('https://coreport.example/r/abc123?token=csl_1a2b3c4d_SECRET-x&x=1#c'))
    expect(taken).toEqual({ reportId: 'abc123', token: 'csl_1a2b3c4d_SECRET-x', cleanUrl: '/r/abc123?x=1#c' })
  })

  it('leaves other addresses and other tokens alone', () => {
    expect(takeLinkToken(new URL('https://h/r/abc123'))).toBeNull()
    expect(takeLinkToken(new URL('https://h/projects?token=csl_abc'))).toBeNull()
    // An API key or an embed token is not a share link.
    expect(takeLinkToken(new URL('https://h/r/abc123?token=cpk_abc'))).toBeNull()
    expect(takeLinkToken(new URL('https://h/r/abc123?token=cse_abc'))).toBeNull()
    expect(takeLinkToken(new URL('https://h/r/abc123?token=csl_<script>'))).toBeNull()
  })
})
