import { afterEach, describe, expect, it, vi } from 'vitest'

import { parseRoute, embedPath } from '../src/router'
import { EmbedUnavailable, fetchEmbed, gridRunsOf, panelSpec, unavailableText, type EmbedPanelData } from '../src/views/embed'

const TOKEN = 'cse_0123abcd_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG'

const LINE: EmbedPanelData = {
  panel: {
    id: 'p1',
    type: 'line',
    title: null,
    metrics: ['loss'],
    x_axis: '',
    smoothing: 0.5,
    log_scale: true,
    group_by: 'config.lr',
    aggregate: 'median',
    band: 'weird',
  },
  runs: [{ id: 'r1', name: 'baseline', state: 'running', summary: {}, config: { lr: 0.1 } }],
  series: { r1: { loss: { steps: [0, 1], values: [1, 0.5] } } },
  live: true,
}

afterEach(() => {
  vi.unstubAllGlobals()
})

describe('embed routes', () => {
  it('routes every /embed/ path to the embed view, which says when a token does not work', () => {
    expect(parseRoute(`/embed/${TOKEN}`)).toEqual({ name: 'embed', token: TOKEN })
    expect(parseRoute(`/embed/${TOKEN}/`)).toEqual({ name: 'embed', token: TOKEN })
    expect(parseRoute('/embed/not-a-token')).toEqual({ name: 'embed', token: 'not-a-token' })
    expect(parseRoute('/embed/')).toMatchObject({ name: 'not-found' })
    expect(parseRoute(`/embed/${TOKEN}/more`)).toMatchObject({ name: 'not-found' })
    expect(parseRoute(embedPath(TOKEN))).toEqual({ name: 'embed', token: TOKEN })
  })
})

describe('embed data', () => {
  it('turns the API panel into the editor renderers\' settings', () => {
    expect(panelSpec(LINE.panel)).toEqual({
      id: 'p1',
      type: 'line',
      title: '',
      metrics: ['loss'],
      xAxis: 'step',
      smoothing: 0.5,
      logScale: true,
      groupBy: 'config.lr',
      aggregate: 'median',
      band: 'min_max',
      mediaKey: null,
      markdown: '',
      layout: null,
    })
  })

  it('fills the runs the renderers read without asking the runs API', () => {
    const fetchSpy = vi.fn()
    vi.stubGlobal('fetch', fetchSpy)
    const runs = gridRunsOf(LINE)
    expect(runs.loaded).toBe(true)
    expect(runs.error).toBeNull()
    expect(runs.runs).toEqual([{ id: 'r1', project: '', name: 'baseline', state: 'running', config: { lr: 0.1 }, summary: {} }])
    expect(runs.series.get('r1')?.byMetric.get('loss')).toEqual({ steps: [0, 1], values: [1, 0.5] })
    runs.stop()
    expect(fetchSpy).not.toHaveBeenCalled()
  })

  it('asks for the embed without credentials and reports why it shows nothing', async () => {
    const fetchSpy = vi.fn(async () => new Response(JSON.stringify({ error: 'this embed link was revoked' }), { status: 410 }))
    vi.stubGlobal('fetch', fetchSpy)
    const error = await fetchEmbed(TOKEN).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(EmbedUnavailable)
    expect((error as EmbedUnavailable).status).toBe(410)
    expect(fetchSpy).toHaveBeenCalledWith(`/api/embed/${TOKEN}`, expect.objectContaining({ credentials: 'omit' }))
    expect(unavailableText(error)).toBe("This embed link was revoked. Ask the report's owner for a new embed link.")
    expect(unavailableText(new EmbedUnavailable(404, 'unknown embed link'))).toMatch(/^Unknown embed link: this embed link does not exist/)
    expect(unavailableText(new Error('offline'))).toBe('Could not load this embed: offline')
  })
})
