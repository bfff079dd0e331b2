import { describe, expect, it } from 'vitest'

import { mediaRefreshDelay } from '../src/panels/media'

describe('when a media panel lists its images again', () => {
  it('after new rows: at once if the last listing is old enough, else when it will be', () => {
    expect(mediaRefreshDelay(6000, 5000, true, false)).toBe(0)
    expect(mediaRefreshDelay(1500, 5000, true, false)).toBe(3500)
  })

  it('while a run is running, even without rows', () => {
    expect(mediaRefreshDelay(0, 5000, false, true)).toBe(5000)
  })

  it('never when no rows arrive and no run is running', () => {
    expect(mediaRefreshDelay(60_000, 5000, false, false)).toBeNull()
  })
})
