import { describe, expect, it } from 'vitest'

import { mediaAt, mediaSteps, type MediaItem } from '../src/panels/media'

const image = (run: string, step: number, index = 0): MediaItem => ({
  id: `${run}-${step}-${index}`,
  run_id: run,
  key: 'samples',
  step,
  index,
  content_type: 'image/png',
  caption: null,
  url: `/api/runs/${run}/media/${run}-${step}-${index}`,
})

describe('media panels', () => {
  const a = [image('a', 0), image('a', 10), image('a', 10, 1), image('a', 20)]
  const b = [image('b', 5), image('b', 15)]

  it('offer every step any run logged an image at', () => {
    expect(mediaSteps([a, b])).toEqual([0, 5, 10, 15, 20])
  })

  it('show each run at its last step at or before the chosen one, every index of it', () => {
    expect(mediaAt(a, 12).map((m) => m.id)).toEqual(['a-10-0', 'a-10-1'])
    expect(mediaAt(b, 12).map((m) => m.id)).toEqual(['b-5-0'])
    expect(mediaAt(b, 4)).toEqual([])
    expect(mediaAt(a, 100).map((m) => m.id)).toEqual(['a-20-0'])
  })
})
