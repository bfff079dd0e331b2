// The runs pages in a real browser against a real `coreport serve` (without auth): a run
// logged through the REST API (as the SDK does) is listed under its project, found with
// the filter box, and its page shows charts, config, summary, code, logs and the reports
// that use it; more points logged meanwhile move its chart live.

import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'

import { WAIT } from './support/report.mjs'
import { logRun, rest } from './support/runs.mjs'
import { ADA, artifact, browserSuite } from './support/suite.mjs'

/** Wait until the chart of `metric` holds `n` points. */
function waitForPoints(page, metric, n, timeout = WAIT.timeout) {
  return page.waitForFunction(
    ([metric, n]) => document.querySelector(`.run-chart[data-metric="${metric}"]`)?.dataset.points === String(n),
    [metric, n],
    { timeout },
  )
}

describe('runs pages', { timeout: 60_000 }, () => {
  const suite = browserSuite({ serverLog: 'runs-server.log' })

  test('a logged run is listed, filtered, and its page shows it and moves live', async () => {
    const { server } = suite
    const project = `e2e-runs-${randomBytes(3).toString('hex')}`
    const run = await rest(server.url, 'POST', `/api/projects/${project}/runs`, {
      name: 'baseline-lr0.1',
      config: { lr: 0.1, optimizer: { name: 'adam', beta1: 0.9 } },
      summary: { loss: 0.25, acc: 0.91 },
      tags: ['baseline'],
      code: { git_commit: 'abc1234def', repository: 'https://github.com/example/mnist' },
    })
    await rest(server.url, 'POST', `/api/runs/${run.id}/history`, {
      rows: [0, 1, 2, 3, 4].map((step) => ({ step, metrics: { loss: 1 / (step + 1), acc: step / 5 } })),
    })
    await rest(server.url, 'POST', `/api/runs/${run.id}/logs`, { lines: [{ text: 'epoch 0 done' }, { text: 'warning: slow disk', stream: 'stderr' }] })
    await logRun(server.url, project, { name: 'ablation', summary: { loss: 0.5 } })
    // A report that draws on the run, with a version (what "reports that use this run" reads).
    const report = await rest(server.url, 'POST', '/api/reports', {
      title: 'Baseline write-up',
      project,
      blocks: [
        { type: 'paragraph', text: 'The baseline.' },
        { type: 'panel_grid', runsets: [{ name: 'Baseline', run_ids: [run.id] }], panels: [{ type: 'line', title: 'Loss', metrics: ['loss'] }] },
      ],
    })
    await rest(server.url, 'POST', `/api/reports/${report.id}/versions`, { name: 'first' })

    const page = await (await suite.person(ADA)).newPage()
    await page.goto(new URL('/', server.url).href)

    // Home -> Runs -> the project, with its run count.
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Runs' }).click()
    const projectRow = page.locator(`tr[data-project="${project}"]`)
    await projectRow.waitFor(WAIT)
    assert.equal(await projectRow.locator('td').first().textContent(), '2')
    await projectRow.getByRole('link', { name: project }).click()

    // The project's runs, with their key summary metrics; the filter box narrows them.
    const rows = page.locator('.runs-table tbody tr')
    await page.getByRole('status').getByText('2 runs').waitFor(WAIT)
    const headers = await page.locator('.runs-table thead th').allTextContents()
    assert.deepEqual(headers, ['Name', 'State', 'Created', 'Tags', 'loss', 'acc'])
    const filter = page.getByRole('searchbox', { name: 'Filter runs' })
    await filter.fill('tag=baseline summary.loss<0.3')
    await filter.press('Enter')
    await page.getByRole('status').getByText('1 run').waitFor(WAIT)
    assert.equal(await rows.count(), 1)
    assert.match(page.url(), /\?q=tag%3Dbaseline/)
    await filter.fill('loss')
    await filter.press('Enter')
    await page.getByRole('alert').getByText('Check the filter', { exact: false }).waitFor(WAIT)
    await filter.fill('tag=baseline')
    await filter.press('Enter')
    await page.getByRole('status').getByText('1 run').waitFor(WAIT)
    await rows.getByRole('link', { name: 'baseline-lr0.1' }).click()

    // The run page: charts, config, summary, code, logs, reports.
    await page.waitForURL(`**/runs/${run.id}`)
    await page.getByRole('heading', { level: 1, name: 'baseline-lr0.1' }).waitFor(WAIT)
    await waitForPoints(page, 'loss', 5)
    await waitForPoints(page, 'acc', 5)
    await page.locator('.run-chart[data-metric="loss"] canvas').waitFor(WAIT)
    const config = page.getByRole('table', { name: 'Config' })
    assert.equal(await config.locator('tr', { hasText: 'optimizer.name' }).locator('td').textContent(), 'adam')
    assert.equal(await config.locator('tr', { hasText: /^lr/ }).locator('td').textContent(), '0.1')
    assert.equal(await page.getByRole('table', { name: 'Summary' }).locator('tr', { hasText: 'acc' }).locator('td').textContent(), '0.91')
    assert.equal(await page.getByRole('link', { name: 'abc1234def' }).getAttribute('href'), 'https://github.com/example/mnist/commit/abc1234def')
    await page.locator('.run-logs').getByText('warning: slow disk').waitFor(WAIT)
    await page.getByRole('link', { name: 'Baseline write-up' }).waitFor(WAIT)
    await page.locator('.run-live').waitFor({ state: 'visible', ...WAIT })

    // Logging goes on: the chart moves within 2 s (the live stream); the state and the
    // log follow shortly after.
    const started = Date.now()
    await rest(server.url, 'POST', `/api/runs/${run.id}/history`, {
      rows: [5, 6].map((step) => ({ step, metrics: { loss: 0.1 / step, grad_norm: step } })),
    })
    await waitForPoints(page, 'loss', 7, 2000)
    assert.ok(Date.now() - started < 2000, `the chart moved after ${Date.now() - started} ms`)
    await waitForPoints(page, 'grad_norm', 2, 2000)
    await rest(server.url, 'POST', `/api/runs/${run.id}/logs`, { lines: [{ text: 'epoch 6 done' }] })
    await rest(server.url, 'PATCH', `/api/runs/${run.id}`, { state: 'finished', summary: { loss: 0.0167 } })
    await rest(server.url, 'POST', `/api/runs/${run.id}/history`, { rows: [{ step: 7, metrics: { loss: 0.01 } }] })
    await waitForPoints(page, 'loss', 8, 2000)
    await page.locator('.run-meta .run-state--finished').waitFor(WAIT)
    await page.locator('.run-logs').getByText('epoch 6 done').waitFor(WAIT)
    assert.equal(await page.getByRole('table', { name: 'Summary' }).locator('tr', { hasText: 'loss' }).locator('td').textContent(), '0.0167')
    await page.screenshot({ path: artifact('run-page.png'), fullPage: true })
  })
})
