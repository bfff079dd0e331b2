// Comments and live panels in a real browser against a real `coreport serve`
// (without auth): a comment on a selection reaches the other person and stays
// on its words while both edit around it; a run logged through the REST API
// moves a line plot in both browsers within two seconds.

import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { after, afterEach, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'

import { launchChromium, personContext } from './support/browser.mjs'
import { ReportPage } from './support/report.mjs'
import { startServer } from './support/server.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const repo = resolve(here, '../..')
const artifacts = join(here, 'artifacts')
const COREPORT = process.env.COREPORT_BIN || join(repo, '.venv/bin/coreport')
const WAIT = { timeout: 15_000 }

const ADA = { id: 'e2e-ada', name: 'Ada Lovelace', color: '#7048e8' }
const GRACE = { id: 'e2e-grace', name: 'Grace Hopper', color: '#0c8599' }

const newId = () => randomBytes(12).toString('base64url')
const shot = (name) => join(artifacts, name)

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

/** Wait until the body's text, without others' caret labels, is `text`. */
async function waitForText(page, text) {
  await page.waitForFunction(
    (text) => {
      const copy = document.querySelector('.ProseMirror')?.cloneNode(true)
      if (!copy) return false
      for (const caret of copy.querySelectorAll('.collaboration-carets__caret')) caret.remove()
      return copy.textContent === text
    },
    text,
    WAIT,
  )
}

async function waitForHighlight(page, words) {
  await page.waitForFunction(
    (words) => Array.from(document.querySelectorAll('.ProseMirror .comment-highlight')).map((el) => el.textContent).join('') === words,
    words,
    WAIT,
  )
}

describe('comments and live panels', { timeout: 120_000 }, () => {
  let server
  let browser
  const contexts = []
  const pageErrors = []

  before(async () => {
    await mkdir(artifacts, { recursive: true })
    server = await startServer({ bin: COREPORT })
    browser = await launchChromium()
  })

  afterEach(() => {
    const errors = pageErrors.splice(0)
    assert.deepEqual(errors, [], `uncaught errors in the page:\n${errors.join('\n')}`)
  })

  after(async () => {
    for (const context of contexts) await context.close()
    await browser?.close()
    if (server) {
      await writeFile(join(artifacts, 'collab-server.log'), server.output())
      await server.stop()
    }
  })

  async function openAs(identity, reportId) {
    const context = await personContext(browser, identity)
    context.on('weberror', (error) => {
      const e = error.error()
      pageErrors.push(`${identity.name}: ${e?.stack || e?.message || String(e)}`)
    })
    contexts.push(context)
    const report = new ReportPage(await context.newPage())
    await report.open(server.url, reportId)
    await report.waitForStatus('connected')
    return report
  }

  async function rest(method, path, body) {
    const response = await fetch(new URL(path, server.url), {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await response.text()
    assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`)
    return text ? JSON.parse(text) : null
  }

  test('a comment on a selection reaches the other person and stays on its words', async () => {
    const reportId = newId()
    const ada = await openAs(ADA, reportId)
    const grace = await openAs(GRACE, reportId)

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
    await waitForText(ada.page, 'Yesterday The quick brown fox jumps. Over the lazy dog.')
    await waitForText(grace.page, 'Yesterday The quick brown fox jumps. Over the lazy dog.')
    await waitForHighlight(ada.page, 'brown fox')
    await waitForHighlight(grace.page, 'brown fox')

    // Grace replies and reacts; Ada resolves; the open filter hides it for both.
    await graceSidebar.getByRole('textbox', { name: 'Reply' }).fill('Vulpes vulpes.')
    await graceSidebar.getByRole('textbox', { name: 'Reply' }).press('Enter')
    await sidebar.getByText('Vulpes vulpes.').waitFor(WAIT)
    await graceSidebar.locator('.reaction-picker summary').first().click()
    await graceSidebar.getByRole('button', { name: 'React 👍' }).click()
    await sidebar.getByRole('button', { name: '👍 1' }).waitFor(WAIT)
    await ada.screenshot(shot('comments-ada.png'))
    await grace.screenshot(shot('comments-grace.png'))

    await sidebar.getByRole('button', { name: 'Resolve' }).click()
    await graceSidebar.getByText('No comments yet', { exact: false }).waitFor(WAIT)
    await grace.page.waitForFunction(() => document.querySelectorAll('.ProseMirror .comment-highlight').length === 0, undefined, WAIT)
    await graceSidebar.getByRole('combobox', { name: 'Show threads' }).selectOption('resolved')
    await graceSidebar.getByText(`Resolved by ${ADA.name}`).waitFor(WAIT)
    assert.deepEqual(await highlights(ada.page), [])
  })

  test('a run logged through the REST API moves a line plot in both browsers within 2 s', async () => {
    const project = `e2e-${newId().slice(0, 6).toLowerCase()}`
    const run = await rest('POST', `/api/projects/${project}/runs`, { name: 'baseline', config: { lr: 0.1 } })
    await rest('POST', `/api/runs/${run.id}/history`, {
      rows: [0, 1, 2].map((step) => ({ step, metrics: { loss: 1 / (step + 1) } })),
    })

    const reportId = newId()
    const ada = await openAs(ADA, reportId)
    const grace = await openAs(GRACE, reportId)
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
    await rest('POST', `/api/runs/${run.id}/history`, {
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

    await ada.screenshot(shot('panels-live-ada.png'))
    await grace.screenshot(shot('panels-live-grace.png'))
  })
})
