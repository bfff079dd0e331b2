// Comments and live panels in a real browser against a real `coreport serve`
// (without auth): a comment on a selection reaches the other person and stays
// on its words while both edit around it; a run logged through the REST API
// moves a line plot in both browsers within two seconds.

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import { WAIT } from './support/report.mjs'
import { logRun, rest } from './support/runs.mjs'
import { ADA, GRACE, artifact, browserSuite, newReportId } from './support/suite.mjs'

/** Select `words` inside the editor's text, as a person dragging over them would. */
async function selectWords(page, words) {
  await page.evaluate((words) => {
    const root = document.querySelector('.ProseMirror')
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT)
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const at = node.data.indexOf(words)
      if (at < 0) continue
      root.focus()
      const range = document.createRange()
      range.setStart(node, at)
      range.setEnd(node, at + words.length)
      const selection = window.getSelection()
      selection.removeAllRanges()
      selection.addRange(range)
      return
    }
    throw new Error(`no text ${JSON.stringify(words)} in the editor`)
  }, words)
  // ProseMirror reads the DOM selection on selectionchange; wait until it has.
  await page.waitForFunction((words) => window.getSelection()?.toString() === words, words, WAIT)
}

/** The text of each comment highlight in the body. */
async function highlights(page) {
  return page.locator('.ProseMirror .comment-highlight').allTextContents()
}

async function waitForHighlight(page, words) {
  await page.waitForFunction(
    (words) => Array.from(document.querySelectorAll('.ProseMirror .comment-highlight')).map((el) => el.textContent).join('') === words,
    words,
    WAIT,
  )
}

describe('comments and live panels', { timeout: 120_000 }, () => {
  const suite = browserSuite({ serverLog: 'collab-server.log' })

  test('a comment on a selection reaches the other person and stays on its words', async () => {
    const reportId = newReportId()
    const ada = await suite.openAs(ADA, reportId)
    const grace = await suite.openAs(GRACE, reportId)

    await ada.typeParagraph('The quick brown fox jumps.')
    await grace.waitForBodyText('The quick brown fox jumps.')

    await selectWords(ada.page, 'brown fox')
    const sidebar = ada.page.getByRole('complementary', { name: 'Comments' })
    await sidebar.getByRole('button', { name: 'Comment', exact: true }).click()
    await sidebar.getByRole('textbox', { name: 'New comment' }).fill('Which fox? Name the species.')
    await sidebar.getByRole('button', { name: 'Post' }).click()
    await waitForHighlight(ada.page, 'brown fox')

    // Grace sees the thread and the highlight on the same words.
    const graceSidebar = grace.page.getByRole('complementary', { name: 'Comments' })
    await graceSidebar.getByText('Which fox? Name the species.').waitFor(WAIT)
    await waitForHighlight(grace.page, 'brown fox')
    assert.match(await graceSidebar.locator('.thread__anchor').first().textContent(), /brown fox/)
    assert.equal(await graceSidebar.locator('.comment__author').first().textContent(), ADA.name)

    // Both edit around the words at once: the highlight follows them.
    await grace.page.locator('.ProseMirror p', { hasText: 'quick' }).click()
    await grace.page.keyboard.press('Home')
    await ada.placeCaretAtEnd()
    await Promise.all([
      grace.page.keyboard.type('Yesterday ', { delay: 10 }),
      ada.page.keyboard.type(' Over the lazy dog.', { delay: 10 }),
    ])
    await ada.waitForExactText('Yesterday The quick brown fox jumps. Over the lazy dog.')
    await grace.waitForExactText('Yesterday The quick brown fox jumps. Over the lazy dog.')
    await waitForHighlight(ada.page, 'brown fox')
    await waitForHighlight(grace.page, 'brown fox')

    // Grace replies and reacts; Ada resolves; the open filter hides it for both.
    await graceSidebar.getByRole('textbox', { name: 'Reply' }).fill('Vulpes vulpes.')
    await graceSidebar.getByRole('textbox', { name: 'Reply' }).press('Enter')
    await sidebar.getByText('Vulpes vulpes.').waitFor(WAIT)
    await graceSidebar.locator('.reaction-picker summary').first().click()
    await graceSidebar.getByRole('button', { name: 'React 👍' }).click()
    await sidebar.getByRole('button', { name: '👍 1' }).waitFor(WAIT)
    await ada.screenshot(artifact('comments-ada.png'))
    await grace.screenshot(artifact('comments-grace.png'))

    await sidebar.getByRole('button', { name: 'Resolve' }).click()
    await graceSidebar.getByText('No comments yet', { exact: false }).waitFor(WAIT)
    await grace.page.waitForFunction(() => document.querySelectorAll('.ProseMirror .comment-highlight').length === 0, undefined, WAIT)
    await graceSidebar.getByRole('combobox', { name: 'Show threads' }).selectOption('resolved')
    await graceSidebar.getByText(`Resolved by ${ADA.name}`).waitFor(WAIT)
    assert.deepEqual(await highlights(ada.page), [])
  })

  test('a run logged through the REST API moves a line plot in both browsers within 2 s', async () => {
    const project = `e2e-${newReportId().slice(0, 6).toLowerCase()}`
    const run = await logRun(suite.server.url, project, {
      name: 'baseline',
      config: { lr: 0.1 },
      rows: [0, 1, 2].map((step) => ({ step, metrics: { loss: 1 / (step + 1) } })),
    })

    const reportId = newReportId()
    const ada = await suite.openAs(ADA, reportId)
    const grace = await suite.openAs(GRACE, reportId)
    await ada.typeParagraph('Training curves:')

    await ada.page.getByRole('button', { name: 'Insert panel grid' }).click()
    const dialog = ada.page.getByRole('dialog', { name: 'Insert panel grid' })
    await dialog.getByLabel('Project').fill(project)
    await dialog.getByLabel('Metric for the line panel').fill('loss')
    await dialog.getByRole('button', { name: 'Insert' }).click()

    const points = (report) => report.page.locator('.panel--line .panel__content')
    const waitForPoints = (report, n) =>
      report.page.waitForFunction(
        (n) => document.querySelector('.panel--line .panel__content')?.dataset.points === String(n),
        n,
        WAIT,
      )
    await waitForPoints(ada, 3)
    await waitForPoints(grace, 3)
    await grace.page.locator('.panel--line canvas').first().waitFor(WAIT)
    assert.equal(await grace.page.locator('.run-table tbody tr').count(), 1)

    const started = Date.now()
    await rest(suite.server.url, 'POST', `/api/runs/${run.id}/history`, {
      rows: [3, 4].map((step) => ({ step, metrics: { loss: 0.2 / step } })),
    })
    await Promise.all([
      ada.page.waitForFunction(() => document.querySelector('.panel--line .panel__content')?.dataset.points === '5', undefined, { timeout: 2000 }),
      grace.page.waitForFunction(() => document.querySelector('.panel--line .panel__content')?.dataset.points === '5', undefined, { timeout: 2000 }),
    ])
    const elapsed = Date.now() - started
    assert.ok(elapsed < 2000, `the plots moved after ${elapsed} ms`)
    assert.equal(await points(ada).getAttribute('data-points'), '5')

    // A thread on a panel, from the panel's own button.
    await grace.page.locator('.panel--line').getByRole('button', { name: 'Comment' }).click()
    const graceSidebar = grace.page.getByRole('complementary', { name: 'Comments' })
    await graceSidebar.getByRole('textbox', { name: 'New comment' }).fill('Nice drop at step 3.')
    await graceSidebar.getByRole('button', { name: 'Post' }).click()
    const adaThread = ada.page.locator('.thread[data-anchor="panel"]')
    await adaThread.getByText('Nice drop at step 3.').waitFor(WAIT)
    assert.equal(await adaThread.locator('.thread__anchor').textContent(), 'Panel: loss')

    await ada.screenshot(artifact('panels-live-ada.png'))
    await grace.screenshot(artifact('panels-live-grace.png'))
  })
})
