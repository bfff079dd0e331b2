// Panels in a real browser against a real `coreport serve` (without auth): a report made
// with the Report API holds one grid of every panel type, over runs logged through the
// REST API (history and images). Two people watch it; the editor changes a panel in the
// panel editor (smoothing, then type) and the other sees each change; readers' own
// controls stay their own; a panel dragged to a new place moves for both, and a panel
// added in the editor appears for both and goes again when deleted. With auth on, a
// viewer gets the panels and their reader controls, and none of the editing ones.

import assert from 'node:assert/strict'
import { before, describe, test } from 'node:test'

import { addUser, signIn } from './support/accounts.mjs'
import { ReportPage, WAIT } from './support/report.mjs'
import { logImage, logRun, rest, restAs, solidPng } from './support/runs.mjs'
import { ADA, COREPORT, GRACE, artifact, browserSuite, newReportId } from './support/suite.mjs'

/** Twenty steps of a run that learns at `rate`: loss falls, accuracy rises. */
function curve(rate, wobble) {
  return Array.from({ length: 20 }, (_, step) => ({
    step,
    metrics: {
      loss: Math.exp(-rate * step) * (1 + wobble * Math.sin(step * 1.7)),
      acc: 1 - 0.9 * Math.exp(-rate * step),
    },
  }))
}

describe('panels', { timeout: 180_000 }, () => {
  const suite = browserSuite({ serverLog: 'panels-server.log' })
  let server
  let ada
  let grace
  let reportId
  let runIds
  /** Panel ids by title. */
  const ids = {}

  before(async () => {
    server = suite.server
    const project = `e2e-${newReportId().slice(0, 6).toLowerCase()}`
    const runs = [
      await logRun(server.url, project, { name: 'lr-0.1-a', config: { lr: 0.1, seed: 1 }, rows: curve(0.25, 0.1) }),
      await logRun(server.url, project, { name: 'lr-0.1-b', config: { lr: 0.1, seed: 2 }, rows: curve(0.22, -0.1) }),
      await logRun(server.url, project, { name: 'lr-0.01', config: { lr: 0.01, seed: 1 }, rows: curve(0.05, 0.05) }),
    ]
    runIds = runs.map((run) => run.id)
    const colours = [
      [66, 99, 235],
      [232, 89, 12],
      [47, 158, 68],
    ]
    for (const [i, run] of runs.entries()) {
      for (const step of [0, 10, 19]) {
        const shade = colours[i].map((c) => Math.min(255, c + step * 4))
        await logImage(server.url, run.id, { key: 'samples', step, data: solidPng(shade), caption: `sample ${step}` })
      }
    }

    const created = await rest(server.url, 'POST', '/api/reports', {
      title: 'Learning rate sweep',
      project,
      blocks: [
        { type: 'heading', level: 2, text: 'Sweep' },
        {
          type: 'panel_grid',
          runsets: [{ name: 'Sweep', project }],
          panels: [
            { type: 'line', title: 'Loss by lr', metrics: ['loss'], group_by: 'config.lr', aggregate: 'mean', band: 'min_max', log_scale: true, layout: { x: 0, y: 0, w: 12, h: 7 } },
            { type: 'line', title: 'Accuracy', metrics: ['acc'], layout: { x: 12, y: 0, w: 12, h: 7 } },
            { type: 'bar', title: 'Final loss', metrics: ['loss'], layout: { x: 0, y: 7, w: 8, h: 5 } },
            { type: 'scalar', title: 'Mean accuracy', metrics: ['acc'], layout: { x: 8, y: 7, w: 4, h: 5 } },
            { type: 'scatter', title: 'Accuracy vs lr', metrics: ['acc'], x_axis: 'config.lr', layout: { x: 12, y: 7, w: 12, h: 5 } },
            {
              type: 'markdown',
              title: 'Notes',
              markdown: '**Two** learning rates, `3` runs.\n\n- lower is slower\n\n<script>window.__pwned = 1</script>',
              layout: { x: 0, y: 12, w: 12, h: 4 },
            },
            { type: 'media', title: 'Samples', media_key: 'samples', layout: { x: 12, y: 12, w: 12, h: 5 } },
          ],
        },
      ],
    })
    reportId = created.id
    const report = await rest(server.url, 'GET', `/api/reports/${reportId}`)
    for (const panel of report.blocks[1].panels) ids[panel.title] = panel.id

    const openAs = (identity) => suite.openAs(identity, reportId, { beforeOpen: (page) => page.setDefaultTimeout(WAIT.timeout) })
    ada = await openAs(ADA)
    grace = await openAs(GRACE)
  })

  const panel = (report, title) => report.page.locator(`.panel[data-panel-id="${ids[title]}"]`)
  const waitFor = (report, fn, arg) => report.page.waitForFunction(fn, arg, WAIT)
  const panelsOfReport = async () => (await rest(server.url, 'GET', `/api/reports/${reportId}`)).blocks[1].panels

  test('every panel type draws the logged runs', async () => {
    for (const report of [ada, grace]) {
      // Grouped line: one line per lr with its band, on a log scale.
      await panel(report, 'Loss by lr').locator('canvas').first().waitFor(WAIT)
      await waitFor(report, (id) => document.querySelector(`.panel[data-panel-id="${id}"] .panel__content`)?.dataset.points === '60', ids['Loss by lr'])
      // Groups in order of value.
      assert.deepEqual(await panel(report, 'Loss by lr').locator('.panel-legend__label').allTextContents(), ['lr=0.01 (1)', 'lr=0.1 (2)'])
      // Bar: the latest loss of each run.
      await panel(report, 'Final loss').locator('.bar-chart__row').nth(2).waitFor(WAIT)
      assert.deepEqual((await panel(report, 'Final loss').locator('.bar-chart__label').allTextContents()).sort(), ['lr-0.01', 'lr-0.1-a', 'lr-0.1-b'])
      // Scalar: the mean of the runs' latest accuracy.
      await panel(report, 'Mean accuracy').locator('.scalar__value').waitFor(WAIT)
      assert.match(await panel(report, 'Mean accuracy').locator('.scalar__caption').textContent(), /mean of latest acc across 3 runs/)
      // Scatter: one point per run, x from the config.
      await waitFor(report, (id) => document.querySelector(`.panel[data-panel-id="${id}"] .panel__content`)?.dataset.points === '3', ids['Accuracy vs lr'])
      // Markdown: rendered, and the script is text, never run.
      await panel(report, 'Notes').locator('.panel-markdown strong', { hasText: 'Two' }).waitFor(WAIT)
      assert.match(await panel(report, 'Notes').locator('.panel-markdown').textContent(), /<script>window.__pwned = 1<\/script>/)
      assert.equal(await panel(report, 'Notes').locator('.panel-markdown script').count(), 0)
      assert.equal(await report.page.evaluate(() => window.__pwned), undefined)
      // Media: each run's image at the latest step, decoded; the slider goes back in steps.
      await waitFor(
        report,
        (id) => {
          const images = [...document.querySelectorAll(`.panel[data-panel-id="${id}"] .media__item img`)]
          return images.length === 3 && images.every((img) => img.complete && img.naturalWidth === 8)
        },
        ids.Samples,
      )
    }
    const samples = panel(grace, 'Samples')
    assert.match(await samples.locator('figcaption').first().textContent(), /step 19/)
    await samples.getByRole('slider', { name: 'Step' }).fill('0')
    await samples.locator('figcaption', { hasText: 'step 0' }).first().waitFor(WAIT)
    // Only Grace moved her slider.
    assert.match(await panel(ada, 'Samples').locator('figcaption').first().textContent(), /step 19/)

    // A new point moves the scalar for both.
    const before = await panel(ada, 'Mean accuracy').locator('.panel__content').getAttribute('data-value')
    await rest(server.url, 'POST', `/api/runs/${runIds[0]}/history`, { rows: [{ step: 20, metrics: { acc: 0.01 } }] })
    for (const report of [ada, grace]) {
      await waitFor(report, ([id, old]) => {
        const value = document.querySelector(`.panel[data-panel-id="${id}"] .panel__content`)?.dataset.value
        return value !== undefined && value !== old
      }, [ids['Mean accuracy'], before])
    }
  })

  test("a reader's legend, smoothing and zoom are their own", async () => {
    const loss = panel(grace, 'Loss by lr')
    const slow = loss.getByRole('button', { name: /lr=0\.01/ })
    assert.equal(await slow.getAttribute('aria-pressed'), 'true')
    await slow.click()
    assert.equal(await slow.getAttribute('aria-pressed'), 'false')

    // Grace's own smoothing, from the panel's View menu.
    const accuracy = panel(grace, 'Accuracy')
    await accuracy.locator('.panel-view summary').click()
    await accuracy.getByLabel('My smoothing').fill('0.9')
    await waitFor(grace, (id) => document.querySelector(`.panel[data-panel-id="${id}"] .panel-view__value`)?.textContent === '0.90', ids.Accuracy)
    await accuracy.locator('.panel-view summary').click()

    // Grace zooms by dragging across the plot.
    const over = accuracy.locator('.u-over')
    const box = await over.boundingBox()
    await grace.page.mouse.move(box.x + box.width * 0.2, box.y + box.height / 2)
    await grace.page.mouse.down()
    await grace.page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2, { steps: 5 })
    await grace.page.mouse.up()
    // Hovering shows the values under the cursor in the legend.
    await grace.page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2)
    await accuracy.locator('.panel-legend__x', { hasText: /^step \d+$/ }).waitFor(WAIT)

    // None of it reached Ada or the report.
    assert.equal(await panel(ada, 'Loss by lr').getByRole('button', { name: /lr=0\.01/ }).getAttribute('aria-pressed'), 'true')
    const stored = (await panelsOfReport()).find((p) => p.id === ids.Accuracy)
    assert.equal(stored.smoothing, 0)
  })

  test('the editor changes smoothing and type in the panel editor; the other person sees each change', async () => {
    await panel(ada, 'Accuracy').getByRole('button', { name: 'Edit' }).click()
    const dialog = ada.page.getByRole('dialog', { name: 'Edit panel' })
    await dialog.waitFor(WAIT)
    assert.deepEqual(await dialog.locator('.panel-editor__chip span').allTextContents(), ['acc'])
    // The metrics the runs logged are offered.
    await ada.page.waitForFunction(() => [...document.querySelectorAll('.panel-editor datalist option')].some((o) => o.value === 'loss'), undefined, WAIT)

    // Grace's charts, marked: a change to one panel must not rebuild the others.
    await grace.page.evaluate(() => {
      for (const plot of document.querySelectorAll('.panel-grid .uplot')) plot.dataset.e2eMark = 'before'
    })
    await dialog.getByLabel('Smoothing', { exact: true }).fill('0.8')
    await waitFor(grace, (id) => document.querySelector(`.panel[data-panel-id="${id}"]`)?.dataset.smoothing === '0.8', ids.Accuracy)
    const rebuilt = await grace.page.evaluate(() =>
      [...document.querySelectorAll('.panel-grid .panel')].filter((card) => card.querySelector('.uplot') && card.querySelector('.uplot').dataset.e2eMark !== 'before').map((card) => card.getAttribute('aria-label')),
    )
    assert.deepEqual(rebuilt, [])
    await ada.screenshot(artifact('panel-editor.png'))

    await dialog.getByLabel('Type').selectOption('bar')
    await waitFor(grace, (id) => document.querySelector(`.panel[data-panel-id="${id}"]`)?.classList.contains('panel--bar'), ids.Accuracy)
    await panel(grace, 'Accuracy').locator('.bar-chart__row').nth(2).waitFor(WAIT)
    // The smoothing setting stays (for when it is a line plot again), hidden in the editor.
    assert.equal(await dialog.getByLabel('Smoothing', { exact: true }).isVisible(), false)
    await dialog.getByRole('button', { name: 'Done' }).click()
    await dialog.waitFor({ state: 'detached', ...WAIT })

    const stored = (await panelsOfReport()).find((p) => p.id === ids.Accuracy)
    assert.equal(stored.type, 'bar')
    assert.equal(stored.smoothing, 0.8)
  })

  test('a dragged panel moves for both, and pushes the panel in its way down', async () => {
    // A mouse drags a panel by its header.
    const title = panel(ada, 'Notes').locator('.panel__title')
    await title.scrollIntoViewIfNeeded()
    const grid = await ada.page.locator('.panel-grid__panels').boundingBox()
    const pitch = (grid.width + 9.6) / 24 // 0.6rem gap at 16px
    const from = await title.boundingBox()
    const x = from.x + from.width / 2
    const y = from.y + from.height / 2
    await ada.page.mouse.move(x, y)
    await ada.page.mouse.down()
    await ada.page.mouse.move(x + pitch * 6, y + 5, { steps: 8 })
    await ada.page.mouse.move(x + pitch * 12, y + 5, { steps: 8 })
    await ada.page.mouse.up()

    const stored = async () => Object.fromEntries((await panelsOfReport()).map((p) => [p.title, p.layout]))
    await waitFor(grace, (id) => document.querySelector(`.panel[data-panel-id="${id}"]`)?.style.gridColumn.startsWith('13'), ids.Notes)
    const layouts = await stored()
    assert.deepEqual(layouts.Notes, { x: 12, y: 12, w: 12, h: 4 })
    assert.deepEqual(layouts.Samples, { x: 12, y: 16, w: 12, h: 5 })
    assert.equal(await panel(grace, 'Samples').evaluate((el) => el.style.gridRow), '17 / span 5')

    // Resizing from the corner.
    const handle = panel(ada, 'Final loss').locator('.panel__resize')
    await handle.scrollIntoViewIfNeeded()
    const corner = await handle.boundingBox()
    await ada.page.mouse.move(corner.x + corner.width / 2, corner.y + corner.height / 2)
    await ada.page.mouse.down()
    await ada.page.mouse.move(corner.x + corner.width / 2 - pitch * 2, corner.y + corner.height / 2 + 48 * 2, { steps: 6 })
    await ada.page.mouse.up()
    await waitFor(grace, (id) => document.querySelector(`.panel[data-panel-id="${id}"]`)?.style.gridColumn === '1 / span 6', ids['Final loss'])
    assert.deepEqual((await stored())['Final loss'], { x: 0, y: 7, w: 6, h: 7 })

    // From the keyboard: the grip moves the panel with arrows, and resizes it with Shift.
    const grip = panel(ada, 'Mean accuracy').getByRole('button', { name: 'Move panel' })
    await grip.focus()
    await ada.page.keyboard.press('ArrowRight')
    await ada.page.keyboard.press('Shift+ArrowDown')
    await waitFor(grace, (id) => document.querySelector(`.panel[data-panel-id="${id}"]`)?.style.gridRow === '8 / span 6', ids['Mean accuracy'])
    assert.deepEqual((await stored())['Mean accuracy'], { x: 9, y: 7, w: 4, h: 6 })
  })

  test('a panel added in the editor appears for both, and goes when deleted', async () => {
    await ada.page.locator('.panel-grid').getByRole('button', { name: 'Add panel' }).click()
    const dialog = ada.page.getByRole('dialog', { name: 'Edit panel' })
    await dialog.waitFor(WAIT)
    await dialog.getByLabel('Type').selectOption('markdown')
    await dialog.getByLabel('Title').fill('Conclusion')
    await dialog.getByLabel('Text (Markdown)').fill('Use **lr=0.1**.')
    await dialog.getByRole('button', { name: 'Done' }).click()
    const added = grace.page.locator('.panel--markdown', { hasText: 'Conclusion' })
    await added.locator('.panel-markdown strong', { hasText: 'lr=0.1' }).waitFor(WAIT)
    assert.equal(await grace.page.locator('.panel-grid .panel').count(), 8)

    // The whole grid in one picture: a tall window, the grid in its middle.
    await grace.page.setViewportSize({ width: 1280, height: 1500 })
    await grace.page.locator('.panel-grid').evaluate((grid) => grid.scrollIntoView({ block: 'center' }))
    await grace.screenshot(artifact('panels-grid.png'))
    await grace.page.setViewportSize({ width: 1280, height: 860 })

    await ada.page.locator('.panel--markdown', { hasText: 'Conclusion' }).getByRole('button', { name: 'Edit' }).click()
    await dialog.getByRole('button', { name: 'Delete panel' }).click()
    await dialog.getByRole('button', { name: 'Click again to delete' }).click()
    await added.waitFor({ state: 'detached', ...WAIT })
    assert.equal(await grace.page.locator('.panel-grid .panel').count(), 7)
  })

  test("the editor narrows and freezes the grid's run set; the other person's panels follow", async () => {
    await ada.page.locator('.panel-grid').getByRole('button', { name: 'Run sets' }).click()
    const dialog = ada.page.getByRole('dialog', { name: 'Run sets' })
    const filters = dialog.getByLabel('Filters', { exact: false })
    // A filter the runs list refuses is not written.
    await filters.fill('summary.loss<abc')
    await filters.press('Tab')
    await dialog.getByRole('alert').waitFor(WAIT)
    assert.equal(await grace.page.locator('.panel-grid').getAttribute('data-runs'), '3')

    await filters.fill('config.lr=0.1')
    await filters.press('Tab')
    await waitFor(grace, () => document.querySelector('.panel-grid')?.dataset.runs === '2')
    // The gallery is rebuilt for the narrowed runs (emptied while their images load): wait
    // for it to show exactly the two lr=0.1 runs.
    await waitFor(
      grace,
      (id) => {
        const captions = [...document.querySelectorAll(`.panel[data-panel-id="${id}"] .media__item figcaption`)].map((c) => c.textContent)
        return captions.length === 2 && captions.every((text) => text.startsWith('lr-0.1-'))
      },
      ids.Samples,
    )

    await dialog.getByLabel('Frozen', { exact: false }).check()
    await grace.page.locator('.panel-grid__footer', { hasText: 'Sweep (frozen)' }).waitFor(WAIT)
    await dialog.getByRole('button', { name: 'Done' }).click()
    const runset = (await rest(server.url, 'GET', `/api/reports/${reportId}`)).blocks[1].runsets[0]
    assert.deepEqual([runset.filters, runset.frozen], [['config.lr=0.1'], true])
  })
})

describe('panels for a viewer', { timeout: 60_000 }, () => {
  const suite = browserSuite({ serverLog: 'panels-viewer-server.log', auth: true })

  test('a viewer sees the panels and their reader controls, and no editing ones', async () => {
    const { server } = suite
    const adaKey = await addUser(COREPORT, server.dataDir, 'ada')
    const graceKey = await addUser(COREPORT, server.dataDir, 'grace')
    const asAda = restAs(server.url, adaKey)
    const run = await asAda('POST', '/api/projects/viewed/runs', { name: 'only', config: {} })
    await asAda('POST', `/api/runs/${run.id}/history`, { rows: [0, 1, 2].map((step) => ({ step, metrics: { loss: 1 / (step + 1) } })) })
    const report = await asAda('POST', '/api/reports', {
      title: 'Viewed',
      project: 'viewed',
      blocks: [{ type: 'panel_grid', runsets: [{ name: 'All' }], panels: [{ type: 'line', title: 'Loss', metrics: ['loss'] }] }],
    })
    const context = await suite.person({ id: 'grace', name: 'grace', color: '#0c8599' })
    const session = await signIn(context, server.url, graceKey)
    await asAda('PUT', `/api/reports/${report.id}/members/${session.user.id}`, { role: 'viewer' })

    const grace = new ReportPage(await context.newPage())
    await grace.open(server.url, report.id)
    const loss = grace.page.locator('.panel--line')
    await loss.locator('canvas').first().waitFor(WAIT)
    await grace.page.waitForFunction(() => document.querySelector('.panel--line .panel__content')?.dataset.points === '3', undefined, WAIT)
    await grace.waitForReadOnly()
    for (const control of [loss.getByRole('button', { name: 'Edit' }), loss.getByRole('button', { name: 'Move panel' }), grace.page.getByRole('button', { name: 'Add panel' }), grace.page.getByRole('button', { name: 'Run sets' })]) {
      assert.equal(await control.isVisible(), false)
    }
    assert.equal(await loss.locator('.panel__resize').isVisible(), false)
    // Reading controls are everyone's.
    const legend = loss.getByRole('button', { name: /only/ })
    await legend.click()
    assert.equal(await legend.getAttribute('aria-pressed'), 'false')
    await context.close()
  })
})
