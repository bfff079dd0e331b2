// The report editor in a real browser against a real `coreport serve`:
// two people editing at once, titles, cursors, presence, reloads, offline
// edits, and what the page says when the server closes the connection.

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import { ReportPage } from './support/report.mjs'
import { ADA, ALAN, GRACE, artifact, browserSuite, newReportId } from './support/suite.mjs'

/**
 * Play a server that accepts the socket, reads the client's first message
 * (sync step 1) and then closes with `code`, as a server checking access does.
 * @param {import('playwright-core').WebSocketRoute} ws
 */
function refuseAfterHello(ws, code, reason) {
  let closed = false
  ws.onMessage(() => {
    if (closed) return
    closed = true
    void ws.close({ code, reason })
  })
}

describe('report editor', { timeout: 240_000 }, () => {
  const suite = browserSuite({ serverLog: 'server.log' })

  test('the home page starts a report and lists it by title', async () => {
    const context = await suite.person(ADA)
    const page = await context.newPage()
    await page.goto(suite.server.url)
    await page.getByRole('button', { name: 'New report' }).click()
    await page.waitForURL(/\/r\/[A-Za-z0-9_-]{12,}$/)
    const reportId = new URL(page.url()).pathname.split('/').pop()

    const report = new ReportPage(page)
    await report.waitForStatus('connected')
    await report.title.fill('Learning-rate sweep')
    await report.typeParagraph('Notes from the sweep.')

    await page.getByRole('link', { name: 'coreport home' }).click()
    const entry = page.getByRole('link', { name: /Learning-rate sweep/ })
    await entry.waitFor()
    assert.equal(await entry.getAttribute('href'), `/r/${reportId}`)
    await page.screenshot({ path: artifact('home.png') })

    await entry.click()
    await report.waitForTitle('Learning-rate sweep')
    await report.waitForBodyText('Notes from the sweep.')
  })

  test('two people edit at once and see each other’s text, title and cursor', async () => {
    const reportId = newReportId()
    const ada = await suite.openAs(ADA, reportId)
    const grace = await suite.openAs(GRACE, reportId)

    await ada.waitForPeople(2)
    await grace.waitForPeople(2)
    assert.deepEqual(await ada.peopleNames(), ['Ada Lovelace (you)', 'Grace Hopper'])
    assert.deepEqual(await grace.peopleNames(), ['Grace Hopper (you)', 'Ada Lovelace'])

    // The title: one person writes it, the other amends it; both see the result.
    await ada.title.click()
    await ada.page.keyboard.type('Quarterly results', { delay: 5 })
    await grace.waitForTitle('Quarterly results')
    await grace.title.click()
    await grace.page.keyboard.press('End')
    await grace.page.keyboard.type(' (draft)', { delay: 5 })
    await ada.waitForTitle('Quarterly results (draft)')

    // The body: each starts a paragraph, then both type at the same time.
    await ada.typeParagraph('## Summary')
    await ada.typeParagraph('Ada:')
    await grace.waitForBodyText('Summary', 'Ada:')
    await grace.typeParagraph('Grace:')
    await ada.waitForBodyText('Grace:')
    await Promise.all([
      ada.typeAtEndOf('Ada:', ' validation loss fell by 12 percent.'),
      grace.typeAtEndOf('Grace:', ' the baseline was rerun twice.'),
    ])
    const both = ['Ada: validation loss fell by 12 percent.', 'Grace: the baseline was rerun twice.']
    await ada.waitForBodyText(...both)
    await grace.waitForBodyText(...both)
    assert.equal(await ada.bodyText(), await grace.bodyText())

    // Markdown shortcuts make real blocks, which travel to the other side as such.
    await ada.typeParagraph('- first finding')
    await ada.page.keyboard.press('Enter')
    await ada.page.keyboard.type('second finding', { delay: 5 })
    await grace.waitForBodyText('second finding')
    assert.equal(await grace.body.locator('h2', { hasText: 'Summary' }).count(), 1)
    assert.equal(await grace.body.locator('ul > li').count(), 2)

    // Each sees where the other is typing, labelled with their name.
    await ada.waitForCaretOf('Grace Hopper')
    await grace.body.click()
    await grace.page.keyboard.press('Control+End')
    await grace.waitForCaretOf('Ada Lovelace')

    await ada.screenshot(artifact('editor-two-people-ada.png'))
    await grace.screenshot(artifact('editor-two-people-grace.png'))
  })

  test('works from the keyboard alone', async () => {
    const context = await suite.person(ALAN)
    const page = await context.newPage()
    await page.goto(suite.server.url)
    const focused = () => page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.textContent)
    const tabTo = async (label) => {
      for (let i = 0; i < 12 && (await focused()) !== label; i++) await page.keyboard.press('Tab')
      assert.equal(await focused(), label)
    }

    await tabTo('New report')
    await page.keyboard.press('Enter')
    await page.waitForURL(/\/r\//)
    const report = new ReportPage(page)
    await report.waitForStatus('connected')

    // The toolbar is one tab stop; arrows move inside it.
    await tabTo('Undo')
    await page.keyboard.press('ArrowRight')
    assert.equal(await focused(), 'Redo')
    await page.keyboard.press('End')
    assert.equal(await focused(), 'Comment on selection')
    await page.keyboard.press('Tab')
    assert.equal(await focused(), 'Report title')

    await page.keyboard.type('Typed without a mouse')
    await page.keyboard.press('Enter')
    // The editor takes focus on the next animation frame.
    await page.waitForFunction(() => document.activeElement?.getAttribute('aria-label') === 'Report body')
    await page.keyboard.type('Plain, then ')
    await page.keyboard.press('Control+b')
    await page.keyboard.type('bold')
    await report.body.locator('strong', { hasText: 'bold' }).waitFor()
    const bold = page.getByRole('button', { name: 'Bold' })
    assert.equal(await bold.getAttribute('aria-pressed'), 'true')
    await report.waitForTitle('Typed without a mouse')
  })

  test('undo takes back only your own edits', async () => {
    const reportId = newReportId()
    const ada = await suite.openAs(ADA, reportId)
    const grace = await suite.openAs(GRACE, reportId)

    await ada.typeParagraph('kept by Ada')
    await grace.waitForBodyText('kept by Ada')
    // Separate Ada's two edits in time so undo treats them as two steps.
    await ada.page.waitForTimeout(600)
    await ada.typeParagraph('undone by Ada')
    await grace.waitForBodyText('undone by Ada')
    await grace.typeParagraph('written by Grace')
    await ada.waitForBodyText('written by Grace')

    await ada.body.click()
    await ada.page.keyboard.press('Control+z')
    await grace.page.waitForFunction(() => !document.querySelector('.ProseMirror').textContent.includes('undone by Ada'))
    const text = await grace.bodyText()
    assert.ok(text.includes('kept by Ada'), text)
    assert.ok(text.includes('written by Grace'), text)

    await ada.page.keyboard.press('Control+Shift+z')
    await grace.waitForBodyText('undone by Ada', 'written by Grace')
  })

  test('a reload keeps everything, and a new browser gets it from the server', async () => {
    const reportId = newReportId()
    const ada = await suite.openAs(ADA, reportId)
    await ada.title.fill('Ablation study')
    await ada.typeParagraph('Removing dropout hurts.')
    await ada.page.keyboard.press('Enter')
    await ada.page.keyboard.type('[ ] rerun with seed 2', { delay: 5 })
    await ada.body.locator('ul[data-type="taskList"] li').first().waitFor()

    await ada.page.reload()
    await ada.waitForStatus('connected')
    await ada.waitForTitle('Ablation study')
    await ada.waitForBodyText('Removing dropout hurts.', 'rerun with seed 2')
    assert.equal(await ada.body.locator('ul[data-type="taskList"] li').count(), 1)

    // A person who never opened it: nothing local, so it all comes from the server.
    const alan = await suite.openAs(ALAN, reportId)
    await alan.waitForTitle('Ablation study')
    await alan.waitForBodyText('Removing dropout hurts.', 'rerun with seed 2')
    assert.equal(await alan.body.locator('ul[data-type="taskList"] li').count(), 1)
  })

  test('edits made offline merge when the network returns', async () => {
    const reportId = newReportId()
    const ada = await suite.openAs(ADA, reportId)
    const adaContext = ada.page.context()
    const grace = await suite.openAs(GRACE, reportId)
    await ada.typeParagraph('Before the outage.')
    await grace.waitForBodyText('Before the outage.')

    await adaContext.setOffline(true)
    await ada.waitForStatus('offline', 'Offline')
    await ada.typeParagraph('Ada wrote this on the train.')
    await ada.title.fill('Written offline')
    await ada.waitForStatus('offline', 'local edits pending')
    await ada.screenshot(artifact('editor-offline-pending.png'))
    // Meanwhile Grace keeps editing online.
    await grace.typeParagraph('Grace wrote this at her desk.')

    await adaContext.setOffline(false)
    await ada.waitForStatus('connected')
    const all = ['Before the outage.', 'Ada wrote this on the train.', 'Grace wrote this at her desk.']
    await ada.waitForBodyText(...all)
    await grace.waitForBodyText(...all)
    await grace.waitForTitle('Written offline')
    assert.equal(await ada.bodyText(), await grace.bodyText())
  })

  test('edits made while the server is unreachable survive a reload, then merge', async () => {
    const reportId = newReportId()
    const grace = await suite.openAs(GRACE, reportId)
    await grace.typeParagraph('Grace started this report.')

    // Ada's sockets go through a gate that can turn them away the way an
    // overloaded server does: close code 1013, "temporarily unavailable".
    const context = await suite.person(ADA)
    let reachable = true
    const live = new Set()
    await context.routeWebSocket(/\/ws\/reports\//, (ws) => {
      if (!reachable) {
        refuseAfterHello(ws, 1013, 'temporarily unavailable')
        return
      }
      live.add(ws)
      ws.onClose(() => live.delete(ws))
      ws.connectToServer()
    })
    const ada = new ReportPage(await context.newPage())
    await ada.open(suite.server.url, reportId)
    await ada.waitForStatus('connected')
    await ada.waitForBodyText('Grace started this report.')

    reachable = false
    for (const ws of live) await ws.close({ code: 1013, reason: 'temporarily unavailable' })
    await ada.waitForStatus('offline', 'Reconnecting')
    await ada.typeParagraph('Ada typed this with the server unreachable.')
    await ada.waitForStatus('offline', 'local edits pending')
    await ada.waitForLocalStore(reportId)

    await ada.page.reload()
    await ada.waitForBodyText('Grace started this report.', 'Ada typed this with the server unreachable.')
    await ada.waitForStatus('offline', 'local edits pending')
    const detail = await ada.status.getAttribute('title')
    assert.match(detail, /temporarily unavailable \(code 1013\)/)
    await ada.screenshot(artifact('editor-unreachable-after-reload.png'))

    reachable = true
    await ada.waitForStatus('connected')
    await grace.waitForBodyText('Grace started this report.', 'Ada typed this with the server unreachable.')
  })

  test('a close code that forbids retrying stops reconnecting and says why', async () => {
    const context = await suite.person(ALAN)
    let attempts = 0
    let attempted = () => {}
    const nextAttempt = () => new Promise((resolve) => (attempted = resolve))
    // Only the report socket is refused; the comments socket reaches the server.
    await context.routeWebSocket(/\/ws\/reports\/[^/]+$/, (ws) => {
      attempts += 1
      refuseAfterHello(ws, 4403, 'access denied')
      attempted()
    })
    const alan = new ReportPage(await context.newPage())
    const first = nextAttempt()
    await alan.open(suite.server.url, newReportId())
    await first
    await alan.waitForStatus('stopped', 'Access denied')
    const retry = alan.page.getByRole('button', { name: 'Try to connect again' })
    await retry.waitFor()
    await alan.screenshot(artifact('editor-access-denied.png'))

    // Nothing to wait for when nothing should happen: give the provider well
    // over its longest reconnect backoff (2.5 s) to show it stays stopped.
    await alan.page.waitForTimeout(4000)
    assert.equal(attempts, 1)
    assert.equal(await alan.status.getAttribute('data-state'), 'stopped')

    // Asking explicitly tries once more, and is refused the same way.
    const second = nextAttempt()
    await retry.click()
    await second
    await alan.waitForStatus('stopped', 'Access denied')
    assert.equal(attempts, 2)
  })
})
