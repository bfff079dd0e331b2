// Embed links in a real browser against a real `coreport serve` with auth on:
// another site frames a panel's embed page, which draws the chart without any
// session and follows new points live; a report embed shows the report
// read-only with its chart; revoking the link empties the frame.

import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { after, before, describe, test } from 'node:test'

import { WAIT } from './support/report.mjs'
import { restAs } from './support/runs.mjs'
import { artifact, browserSuite } from './support/suite.mjs'

/**
 * Another site: a page that frames `src`, served by the test on its own port and
 * host name (`localhost`, where coreport is `127.0.0.1`), so it is another origin
 * and another site. (A loopback address, as a made-up public host would be kept
 * from framing a local server by the browser's private network rules.)
 */
async function embedderSite() {
  let src = 'about:blank'
  const site = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    response.end(`<!doctype html><title>Team wiki</title><h1>Our wiki</h1>
      <iframe title="Loss" src="${src}" width="640" height="360" style="border:1px solid #ccc"></iframe>`)
  })
  await new Promise((done) => site.listen(0, '127.0.0.1', done))
  return {
    url: `http://localhost:${site.address().port}/wiki`,
    frame: (url) => {
      src = url
    },
    close: () => new Promise((done) => site.close(done)),
  }
}

describe('embed links', { timeout: 120_000 }, () => {
  const suite = browserSuite({ serverLog: 'embed-server.log', auth: true })
  let server
  let rest
  let embedder

  before(async () => {
    server = suite.server
    rest = restAs(server.url, await server.addUser('ada'))
    embedder = await embedderSite()
  })

  after(async () => {
    await embedder?.close()
  })

  /** A browser that has never signed in to coreport. */
  async function stranger() {
    return suite.track(await suite.browser.newContext({ viewport: { width: 1100, height: 760 }, locale: 'en-US' }))
  }

  /** A report with a paragraph and a grid (a line panel and a run table) over one run. */
  async function reportWithRun() {
    const run = await rest('POST', '/api/projects/embeds/runs', { name: 'baseline', config: { lr: 0.1 } })
    await rest('POST', `/api/runs/${run.id}/history`, {
      rows: [0, 1, 2].map((step) => ({ step, metrics: { loss: 1 / (step + 1), acc: step / 4 } })),
    })
    const report = await rest('POST', '/api/reports', {
      title: 'Embedded sweep',
      project: 'embeds',
      blocks: [
        { type: 'paragraph', text: 'These curves come from the nightly sweep.' },
        {
          type: 'panel_grid',
          runsets: [{ name: 'Nightly', run_ids: [run.id] }],
          panels: [
            { id: 'loss-panel', type: 'line', title: 'Training loss', metrics: ['loss'] },
            { id: 'runs-panel', type: 'run_table', title: 'Runs', metrics: ['acc'] },
          ],
        },
      ],
    })
    return { run, report }
  }

  const points = (frame) => frame.locator('.panel--line .panel__content').getAttribute('data-points')

  test("another site frames a panel's embed: the chart draws, follows new points, and goes when revoked", async () => {
    const { run, report } = await reportWithRun()
    const link = await rest('POST', `/api/reports/${report.id}/links`, { embed: { panel_id: 'loss-panel' } })
    assert.match(link.token, /^cse_/)

    const context = await stranger()
    const page = await context.newPage()
    const sockets = []
    page.on('websocket', (ws) => sockets.push(ws.url()))
    embedder.frame(link.url)
    await page.goto(embedder.url)
    const frame = page.frameLocator('iframe[title="Loss"]')
    await frame.locator('.panel--line canvas').first().waitFor(WAIT)
    await frame.getByRole('heading', { name: 'Training loss' }).waitFor(WAIT)
    assert.equal(await points(frame), '3')
    // The frame shows the panel only: no editor, no comments, no sign-in.
    assert.equal(await frame.locator('.ProseMirror').count(), 0)
    assert.equal(await frame.getByText('These curves come from').count(), 0)
    assert.equal(await frame.getByText('Runs', { exact: true }).count(), 0)
    // It needed no cookie, stored nothing, and opened no socket.
    assert.deepEqual(await context.cookies(server.url), [])
    const stored = (await context.storageState()).origins.filter((o) => o.origin === new URL(server.url).origin)
    assert.deepEqual(stored, [])

    // New points reach the frame over the embed's live stream.
    await rest('POST', `/api/runs/${run.id}/history`, {
      rows: [3, 4].map((step) => ({ step, metrics: { loss: 0.2 / step, acc: 0.9 } })),
    })
    const embedded = page.frames().find((f) => f.url().startsWith(link.url))
    assert.ok(embedded, 'the embed frame')
    await embedded.waitForFunction(() => document.querySelector('.panel--line .panel__content')?.dataset.points === '5', undefined, WAIT)
    await page.screenshot({ path: artifact('embed-panel.png') })

    // Revoking the link empties the frame: the stream ends, and the page says why.
    await rest('DELETE', `/api/reports/${report.id}/links/${link.prefix}`)
    await frame.getByRole('alert').filter({ hasText: 'revoked' }).waitFor(WAIT)
    assert.equal(await frame.locator('canvas').count(), 0)
    assert.deepEqual(sockets, [])
  })

  test('a report embed shows the report read-only, its chart drawn, its comments not', async () => {
    const { report } = await reportWithRun()
    await rest('POST', `/api/reports/${report.id}/comments`, { text: 'Only for the team.' })
    const link = await rest('POST', `/api/reports/${report.id}/links`, { embed: { report: true } })
    const page = await (await stranger()).newPage()
    await page.goto(link.url)
    await page.getByText('These curves come from the nightly sweep.').waitFor(WAIT)
    await page.locator('figure[data-panel-id="loss-panel"] canvas').first().waitFor(WAIT)
    assert.equal(await page.locator('figure[data-panel-id="runs-panel"] .run-table tbody tr').count(), 1)
    assert.equal(await page.title(), 'Embedded sweep · coreport')
    assert.equal(await page.getByText('Only for the team.').count(), 0)
    assert.equal(await page.locator('.ProseMirror, [contenteditable="true"]').count(), 0)
    await page.screenshot({ path: artifact('embed-report.png'), fullPage: true })
  })

  test('an unknown embed link says so instead of asking to sign in', async () => {
    const page = await (await stranger()).newPage()
    await page.goto(new URL('/embed/cse_00000000_notarealtokennotarealtoken', server.url).href)
    await page.getByRole('alert').filter({ hasText: 'does not exist' }).waitFor(WAIT)
    assert.equal(await page.getByRole('form', { name: 'Sign in to coreport' }).count(), 0)
  })
})
