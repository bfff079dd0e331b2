// What the web app shows as runs and integrations change things behind it, against a real
// `coreport serve` without auth: the run page's "live" badge goes when the run finishes;
// a media panel shows an image a running run logs without any metrics; a comment thread
// started through the REST API (no user: the server stores "local") is labelled as the
// API's, not "Someone"; formulas and code blocks, whose renderers load only when needed,
// are drawn; a scatter over values close together gets an axis that tells them apart.

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import { WAIT } from './support/report.mjs'
import { logImage, logRun, rest, solidPng } from './support/runs.mjs'
import { ADA, artifact, browserSuite, newReportId } from './support/suite.mjs'

const project = () => `e2e-live-${newReportId().slice(0, 6).toLowerCase()}`

describe('live state and labels', { timeout: 120_000 }, () => {
  const suite = browserSuite({ serverLog: 'live-state-server.log' })

  test('the run page says "live" only while the run is running', async () => {
    const { server } = suite
    const run = await logRun(server.url, project(), { name: 'live-then-done', rows: [{ step: 0, metrics: { loss: 1 } }] })
    const page = await (await suite.person(ADA)).newPage()
    await page.goto(new URL(`/runs/${run.id}`, server.url).href)
    await page.locator('.run-meta .run-state--running').waitFor(WAIT)
    await page.locator('.run-live').waitFor({ state: 'visible', ...WAIT })

    await rest(server.url, 'PATCH', `/api/runs/${run.id}`, { state: 'finished' })
    // A last row makes the page read the run again at once (else the next poll does).
    await rest(server.url, 'POST', `/api/runs/${run.id}/history`, { rows: [{ step: 1, metrics: { loss: 0.5 } }] })
    await page.locator('.run-meta .run-state--finished').waitFor(WAIT)
    await page.locator('.run-live').waitFor({ state: 'hidden', ...WAIT })
  })

  test('a report: media logged alone appears, API comments are labelled, formulas and code are drawn, close values get distinct ticks', async () => {
    const { server } = suite
    const name = project()
    const runs = [
      await logRun(server.url, name, { name: 'close-a', config: { lr: 0.1 }, rows: [{ step: 0, metrics: { acc: 1.0002 } }] }),
      await logRun(server.url, name, { name: 'close-b', config: { lr: 0.2 }, rows: [{ step: 0, metrics: { acc: 1.0005 } }] }),
      await logRun(server.url, name, { name: 'close-c', config: { lr: 0.3 }, rows: [{ step: 0, metrics: { acc: 1.0009 } }] }),
    ]
    await logImage(server.url, runs[0].id, { key: 'samples', step: 0, data: solidPng([66, 99, 235]) })
    const created = await rest(server.url, 'POST', '/api/reports', {
      title: 'Live state',
      project: name,
      blocks: [
        { type: 'paragraph', text: 'Results follow.' },
        { type: 'latex', source: 'e^{i\\pi} + 1 = 0' },
        { type: 'code', language: 'python', code: 'def f():\n    return 1' },
        {
          type: 'panel_grid',
          runsets: [{ name: 'Close', project: name }],
          panels: [
            { type: 'scatter', title: 'Accuracy vs lr', metrics: ['acc'], x_axis: 'config.lr', layout: { x: 0, y: 0, w: 12, h: 6 } },
            { type: 'media', title: 'Samples', media_key: 'samples', layout: { x: 12, y: 0, w: 12, h: 6 } },
          ],
        },
      ],
    })
    const report = await rest(server.url, 'GET', `/api/reports/${created.id}`)
    const panelIds = Object.fromEntries(report.blocks.find((block) => block.type === 'panel_grid').panels.map((panel) => [panel.title, panel.id]))
    await rest(server.url, 'POST', `/api/reports/${created.id}/comments`, { text: 'Posted by CI.', anchor: { kind: 'report' } })

    const opened = await suite.openAs(ADA, created.id)
    const page = opened.page
    // The comment from the REST API: the server stored "local" as its author.
    const comment = page.locator('.comment', { hasText: 'Posted by CI.' })
    await comment.waitFor(WAIT)
    assert.equal(await comment.locator('.comment__author').textContent(), 'API (no sign-in)')

    // KaTeX and lowlight load when the formula and the code block need them.
    await opened.body.locator('[data-type="block-math"] .katex').waitFor(WAIT)
    await opened.body.locator('pre code .hljs-keyword', { hasText: 'def' }).waitFor(WAIT)

    // The scatter draws its three close points.
    const scatter = page.locator(`.panel[data-panel-id="${panelIds['Accuracy vs lr']}"]`)
    await page.waitForFunction((id) => document.querySelector(`.panel[data-panel-id="${id}"] .panel__content`)?.dataset.points === '3', panelIds['Accuracy vs lr'], WAIT)
    await scatter.screenshot({ path: artifact('scatter-close-values.png') })

    // Media: one image; a second run logs one with no metrics, and it appears (no row arrives)
    // within the panel's refresh period (5 s), before the run set's re-listing (10 s) could
    // have shown it.
    const media = page.locator(`.panel[data-panel-id="${panelIds.Samples}"]`)
    await media.locator('.media__item img').first().waitFor(WAIT)
    await logImage(server.url, runs[1].id, { key: 'samples', step: 0, data: solidPng([232, 89, 12]) })
    const logged = Date.now()
    await page.waitForFunction((id) => document.querySelector(`.panel[data-panel-id="${id}"] .panel__content`)?.dataset.images === '2', panelIds.Samples, { timeout: 9000 })
    assert.ok(Date.now() - logged < 9000, `the image appeared after ${Date.now() - logged} ms`)
    assert.equal(await media.locator('.media__item').count(), 2)
  })
})
