import { describe, expect, it } from 'vitest'

import { isLive } from '../src/views/runsPages'

describe('the run page\'s "live" badge', () => {
  it('is on only while the stream is open and the run is running', () => {
    expect(isLive(true, 'running')).toBe(true)
    expect(isLive(false, 'running')).toBe(false)
    expect(isLive(true, 'finished')).toBe(false)
    expect(isLive(true, 'crashed')).toBe(false)
    expect(isLive(true, 'failed')).toBe(false)
    expect(isLive(true, undefined)).toBe(false)
  })
})
