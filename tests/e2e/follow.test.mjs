// Meetings in a real browser against a real `coreport serve` (without auth). Follow mode:
// Grace follows Ada by clicking her avatar and her view goes where Ada scrolls; scrolling
// herself ends it; when Ada presents, Grace follows at once and sees the panel Ada points
// at. @mentions: Ada picks Grace from the list while commenting; Grace sees it marked.

import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'

import { WAIT } from './support/report.mjs'
import { rest } from './support/runs.mjs'
import { ADA, GRACE, artifact, browserSuite } from './support/suite.mjs'

/** How soon a follower's view must get where the leader looks. */
const FOLLOW_WITHIN = { timeout: 2000 }

const PARAGRAPHS = 80
const PANEL_AFTER = 40
const paragraph = (n) => `Paragraph ${n}: ${'The loss fell steadily as the learning rate warmed up. '.repeat(3)}`

/** Is the paragraph starting "Paragraph n:" inside the window (below the sticky bars)? */
function paragraphInView(page, n) {
  return page.waitForFunction(
    (prefix) => {
      const block = Array.from(document.querySelectorAll('.ProseMirror > p')).find((p) => p.textContent.startsWith(prefix))
      if (!block) return false
      const rect = block.getBoundingClientRect()
      return rect.bottom > 0 && rect.top < window.innerHeight
    },
    `Paragraph ${n}:`,
    FOLLOW_WITHIN,
  )
}

describe('meetings: follow mode and mentions', { timeout: 60_000 }, () => {
  const suite = browserSuite({ serverLog: 'follow-server.log' })

  async function openAs(identity, reportId, { waitFor = `Paragraph ${PARAGRAPHS}:` } = {}) {
    const report = await suite.openAs(identity, reportId)
    await report.waitForBodyText(waitFor)
    return report
  }

  test('a follower sees what the person followed looks at, and a presenter is followed at once', async () => {
    const blocks = Array.from({ length: PARAGRAPHS }, (_, i) => ({ type: 'paragraph', text: paragraph(i + 1) }))
    blocks.splice(PANEL_AFTER, 0, {
      type: 'panel_grid',
      runsets: [{ name: 'All', project: `e2e-follow-${randomBytes(3).toString('hex')}` }],
      panels: [{ type: 'markdown', title: 'Notes', markdown: '**Watch this panel.**' }],
    })
    const created = await rest(suite.server.url, 'POST', '/api/reports', { title: 'Long meeting notes', blocks })

    const ada = await openAs(ADA, created.id)
    const grace = await openAs(GRACE, created.id)
    await grace.waitForPeople(2)
    const banner = grace.page.locator('.follow-banner')

    // Grace follows Ada from her avatar.
    await grace.presence.getByRole('button', { name: `Follow ${ADA.name}` }).click()
    await banner.getByText(`Following ${ADA.name}`).waitFor(WAIT)
    assert.equal(await grace.presence.getByRole('button', { name: `Stop following ${ADA.name}` }).getAttribute('aria-pressed'), 'true')

    // Ada scrolls to the end; Grace's view follows within 2 s.
    await ada.page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight))
    const started = Date.now()
    await paragraphInView(grace.page, PARAGRAPHS)
    assert.ok(Date.now() - started < 2000, `followed after ${Date.now() - started} ms`)
    const [adaY, graceY] = await Promise.all([ada.page.evaluate(() => window.scrollY), grace.page.evaluate(() => window.scrollY)])
    assert.ok(graceY > 2000, `Grace scrolled to ${graceY}`)
    assert.ok(Math.abs(adaY - graceY) < 40, `Ada at ${adaY}, Grace at ${graceY}`)

    // Scrolling herself ends it.
    await grace.page.mouse.move(400, 500)
    await grace.page.mouse.wheel(0, -600)
    await banner.waitFor({ state: 'hidden', ...WAIT })
    assert.equal(await grace.presence.getByRole('button', { name: `Follow ${ADA.name}` }).getAttribute('aria-pressed'), 'false')
    await ada.page.evaluate(() => window.scrollTo(0, 0))

    // Ada presents: Grace follows at once, back to the top.
    await ada.page.getByRole('button', { name: 'Ask everyone to follow me' }).click()
    await banner.getByText(`Following ${ADA.name}`).waitFor(FOLLOW_WITHIN)
    await paragraphInView(grace.page, 1)
    await ada.page.locator('.follow-banner').getByText('You are presenting · 1 person follows you').waitFor(WAIT)

    // Ada points at the panel in the middle: Grace's view goes there and outlines it.
    const adaPanel = ada.page.locator('.ProseMirror [data-panel-id]').first()
    await adaPanel.scrollIntoViewIfNeeded()
    await adaPanel.hover()
    const panelId = await adaPanel.getAttribute('data-panel-id')
    const gracePanel = grace.page.locator(`.ProseMirror [data-panel-id="${panelId}"]`)
    await grace.page.waitForFunction(
      (id) => {
        const panel = document.querySelector(`.ProseMirror [data-panel-id="${id}"]`)
        const rect = panel?.getBoundingClientRect()
        return panel?.classList.contains('follow-focus') && rect.bottom > 0 && rect.top < window.innerHeight
      },
      panelId,
      FOLLOW_WITHIN,
    )
    assert.ok(await gracePanel.isVisible())
    await grace.screenshot(artifact('follow.png'))

    // Stopping the presentation releases Grace.
    await ada.page.locator('.follow-banner').getByRole('button', { name: 'Stop presenting' }).click()
    await banner.waitFor({ state: 'hidden', ...WAIT })
    assert.equal(await grace.page.locator('.follow-focus').count(), 0)
  })

  test('an @mention picked from the list is saved with the comment and marked for the one mentioned', async () => {
    const created = await rest(suite.server.url, 'POST', '/api/reports', { title: 'Review', blocks: [{ type: 'paragraph', text: 'Results are in.' }] })
    const ada = await openAs(ADA, created.id, { waitFor: 'Results are in.' })
    const grace = await openAs(GRACE, created.id, { waitFor: 'Results are in.' })
    await ada.waitForPeople(2)

    const sidebar = ada.page.getByRole('complementary', { name: 'Comments' })
    await sidebar.getByRole('button', { name: 'Comment', exact: true }).click()
    const box = sidebar.getByRole('textbox', { name: 'New comment' })
    await box.pressSequentially('Can you check this, @gr', { delay: 5 })
    const list = sidebar.getByRole('listbox', { name: 'People to mention' })
    await list.getByRole('option', { name: GRACE.name }).waitFor(WAIT)
    await box.press('Enter') // picks the highlighted person, does not post
    assert.equal(await box.inputValue(), `Can you check this, @${GRACE.name} `)
    await box.pressSequentially('?', { delay: 5 })
    await sidebar.getByRole('button', { name: 'Post' }).click()

    const graceSidebar = grace.page.getByRole('complementary', { name: 'Comments' })
    const mention = graceSidebar.locator('.comment__text .mention')
    await mention.waitFor(WAIT)
    assert.equal(await mention.textContent(), `@${GRACE.name}`)
    assert.match(await mention.getAttribute('class'), /mention--me/)
    const threads = await rest(suite.server.url, 'GET', `/api/reports/${created.id}/comments`)
    assert.deepEqual(threads.threads[0].comments[0].mentions, [GRACE.id])
    assert.equal(threads.threads[0].comments[0].text, `Can you check this, @${GRACE.name} ?`)
  })
})
