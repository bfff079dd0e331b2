// Around the editor, with auth on: the owner shares the report through the Share dialog
// (Grace as a viewer, whose page then opens read-only; a view link whose token works
// until it is revoked; an embed link likewise), takes a named version in the History drawer, edits, restores
// the version (both browsers show the old text again), and exports Markdown and HTML.
// The three tests run in order on one report.

import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { before, describe, test } from 'node:test'

import { addUser } from './support/accounts.mjs'
import { ReportPage, WAIT } from './support/report.mjs'
import { COREPORT, artifact, browserSuite, newReportId } from './support/suite.mjs'

const TITLE = 'Quarterly results'

describe('share, history and export', { timeout: 60_000 }, () => {
  const suite = browserSuite({ serverLog: 'around-server.log', auth: true })
  let server
  let ada
  let grace
  const reportId = newReportId()

  before(async () => {
    server = suite.server
    const [adaKey, graceKey] = await Promise.all([
      // An administrator, so the dialog can list users to choose from.
      addUser(COREPORT, server.dataDir, 'ada', { admin: true }),
      addUser(COREPORT, server.dataDir, 'grace'),
    ])
    ada = await personPage('ada', { key: adaKey })
    grace = await personPage('grace', { key: graceKey })
  })

  /** A page of `name`'s own browser (signed in with `key`, if given). */
  async function personPage(name, { key, color = '#7048e8' } = {}) {
    const context = await suite.person({ id: `local-${name}`, name, color }, { key })
    const page = await context.newPage()
    page.setDefaultTimeout(WAIT.timeout)
    return new ReportPage(page)
  }

  test('the owner shares with a viewer, who gets a read-only page; a share link works until revoked', async () => {
    await ada.open(server.url, reportId)
    await ada.waitForStatus('connected')
    await ada.title.fill(TITLE)
    await ada.typeParagraph('Original findings.')

    const share = ada.page.getByRole('button', { name: 'Share this report' })
    await share.click()
    const dialog = ada.page.getByRole('dialog', { name: `Share “${TITLE}”` })
    await dialog.waitFor(WAIT)
    const people = dialog.getByRole('tabpanel', { name: 'People' })
    const members = people.getByRole('list', { name: 'People with access' })
    // Ada made the report, so she owns it; as its only owner she cannot be demoted.
    await members.getByRole('combobox', { name: 'Role of ada' }).waitFor(WAIT)
    assert.equal(await members.getByRole('combobox', { name: 'Role of ada' }).inputValue(), 'owner')
    assert.equal(await members.getByRole('combobox', { name: 'Role of ada' }).locator('option[value="viewer"]').isDisabled(), true)

    await people.getByLabel('Person', { exact: true }).selectOption({ label: 'grace' })
    await people.getByLabel('Role', { exact: true }).selectOption('viewer')
    await people.getByRole('button', { name: 'Add', exact: true }).click()
    const graceRole = members.getByRole('combobox', { name: 'Role of grace' })
    await graceRole.waitFor(WAIT)
    assert.equal(await graceRole.inputValue(), 'viewer')
    await dialog.getByText('Added grace as viewer.').waitFor(WAIT)
    await ada.page.screenshot({ path: artifact('share-dialog.png') })

    // A view link: its address carries a token that opens the report until revoked.
    await dialog.getByRole('tab', { name: 'Links' }).click()
    const links = dialog.getByRole('tabpanel', { name: 'Links' })
    await links.getByLabel('Access').selectOption({ label: 'Can view' })
    await links.getByLabel('Expiry').selectOption({ label: 'Expires in 7 days' })
    await links.getByRole('button', { name: 'Create link' }).click()
    const address = links.getByRole('textbox', { name: /^New link/ })
    await address.waitFor(WAIT)
    const url = await address.inputValue()
    assert.match(url, new RegExp(`/r/${reportId}\\?token=csl_[0-9a-f]{8}_`))
    await links.getByRole('button', { name: 'Copy link address' }).click()
    await ada.page.waitForFunction((url) => navigator.clipboard.readText().then((text) => text === url), url, WAIT)
    const token = new URL(url).searchParams.get('token')
    const readWith = (value) =>
      fetch(new URL(`/api/reports/${reportId}`, server.url), { headers: { authorization: `Bearer ${value}` } }).then((r) => r.status)
    assert.equal(await readWith(token), 200)

    // Someone without an account opens the link: the report, read-only, and the token
    // gone from the address bar (kept for the tab, so a reload still works).
    // At no moment, not even before the page has heard the guest's role, can they write.
    const guest = await personPage('guest', { color: '#2f9e44' })
    await guest.watchWritable()
    await guest.page.goto(url)
    await guest.waitForBodyText('Original findings.')
    assert.equal(new URL(guest.page.url()).search, '')
    await guest.page.getByText('View only').waitFor(WAIT)
    await guest.waitForReadOnly()
    assert.equal(await guest.everWritable(), false)
    await guest.page.reload()
    await guest.waitForBodyText('Original findings.')
    await guest.waitForReadOnly()
    assert.equal(await guest.everWritable(), false)

    const linkItem = links.getByRole('list', { name: 'Share links' }).getByRole('listitem').filter({ hasText: 'Can view' })
    await linkItem.getByRole('button', { name: /^Revoke link csl_/ }).click()
    await linkItem.getByText('Revoked', { exact: true }).waitFor(WAIT)
    assert.equal(await readWith(token), 401)
    // Revoking closes the guest's sockets; the page says the link no longer works.
    await guest.page.getByText('This share link no longer works', { exact: false }).waitFor(WAIT)
    await guest.page.context().close()

    // An embed link to the whole report: its page address works on the embed route only.
    await dialog.getByRole('tab', { name: 'Embed' }).click()
    const embeds = dialog.getByRole('tabpanel', { name: 'Embed' })
    await embeds.getByLabel('Show').selectOption({ label: 'The whole report' })
    await embeds.getByRole('button', { name: 'Create embed link' }).click()
    const embedUrl = await embeds.getByRole('textbox', { name: /^New embed link/ }).inputValue()
    assert.match(embedUrl, /\/embed\/cse_[0-9a-f]{8}_/)
    assert.match(await embeds.getByRole('textbox', { name: 'Embed code for another page' }).inputValue(), /^<iframe src="[^"]+\/embed\/cse_/)
    const embedToken = new URL(embedUrl).pathname.split('/').pop()
    const embedStatus = () => fetch(new URL(`/api/embed/${embedToken}`, server.url)).then((r) => r.status)
    assert.equal(await embedStatus(), 200)
    const embedItem = embeds.getByRole('list', { name: 'Embed links' }).getByRole('listitem').filter({ hasText: 'Whole report' })
    await embedItem.getByRole('button', { name: /^Revoke link cse_/ }).click()
    await embedItem.getByText('Revoked', { exact: true }).waitFor(WAIT)
    assert.notEqual(await embedStatus(), 200)
    // Embed links are not share links: the Links tab does not list them.
    await dialog.getByRole('tab', { name: 'Links' }).click()
    assert.equal(await links.getByRole('list', { name: 'Share links' }).getByRole('listitem').count(), 1)

    // Escape closes the dialog and gives focus back to its button.
    await ada.page.keyboard.press('Escape')
    await dialog.waitFor({ state: 'detached', ...WAIT })
    assert.equal(await share.evaluate((button) => document.activeElement === button), true)

    // Grace, a viewer: she reads the report, and nothing on the page lets her write.
    await grace.open(server.url, reportId)
    await grace.waitForStatus('connected')
    await grace.waitForBodyText('Original findings.')
    await grace.waitForTitle(TITLE)
    await grace.page.getByText('View only').waitFor(WAIT)
    await grace.waitForReadOnly()
    assert.equal(await grace.title.evaluate((field) => field.readOnly), true)
    assert.equal(await grace.page.getByRole('button', { name: 'Bold' }).getAttribute('aria-disabled'), 'true')
    await grace.body.click()
    await grace.page.keyboard.type('vandalism')
    await grace.title.press('End')
    await grace.page.keyboard.type(' (edited)')
    assert.equal(await grace.bodyText(), 'Original findings.')
    assert.equal(await grace.title.inputValue(), TITLE)

    // Her Share dialog says what she may do, and offers no management.
    await grace.page.getByRole('button', { name: 'Share this report' }).click()
    const hers = grace.page.getByRole('dialog', { name: /^Share/ })
    await hers.getByText('You are a viewer of this report: you can read.').waitFor(WAIT)
    assert.equal(await hers.getByRole('tab').count(), 0)
    await hers.getByRole('button', { name: 'Close' }).click()
    await hers.waitFor({ state: 'detached', ...WAIT })
  })

  test('a named version is restored after an edit, in both browsers', async () => {
    const historyButton = ada.page.getByRole('button', { name: 'Version history' })
    await historyButton.click()
    const drawer = ada.page.getByRole('dialog', { name: 'Version history' })
    await drawer.waitFor(WAIT)
    await drawer.getByLabel('Name the report as it is now').fill('Before review')
    await drawer.getByRole('button', { name: 'Save version' }).click()
    const versions = drawer.getByRole('list', { name: 'Versions' })
    const named = versions.getByRole('listitem').filter({ hasText: 'Before review' })
    await named.waitFor(WAIT)
    await drawer.getByText(/^Saved version \d+ “Before review”\.$/).waitFor(WAIT)
    await ada.page.keyboard.press('Escape')
    await drawer.waitFor({ state: 'detached', ...WAIT })
    assert.equal(await historyButton.evaluate((button) => document.activeElement === button), true)

    await ada.typeAtEndOf('Original findings.', ' Revised later.')
    await grace.waitForBodyText('Original findings. Revised later.')

    await historyButton.click()
    await drawer.waitFor(WAIT)
    const number = (await named.locator('.history__number').textContent()).replace('Version ', '')
    await named.getByRole('button', { name: `Preview version ${number}` }).click()
    const details = drawer.getByRole('region', { name: 'Version details' })
    const preview = details.getByRole('article', { name: 'Version content' })
    await preview.getByText('Original findings.', { exact: true }).waitFor(WAIT)
    assert.equal(await preview.getByRole('heading', { level: 1 }).textContent(), TITLE)

    await details.getByRole('button', { name: 'Changes since this version' }).click()
    await details.getByRole('heading', { name: `Changes from version ${number} to the current report` }).waitFor(WAIT)
    const table = details.getByRole('table')
    await table.locator('.diff__line--del', { hasText: 'Original findings.' }).waitFor(WAIT)
    await table.locator('.diff__line--add', { hasText: 'Original findings. Revised later.' }).waitFor(WAIT)
    await ada.page.screenshot({ path: artifact('history-drawer.png') })

    await named.getByRole('button', { name: `Restore version ${number}` }).click()
    const confirm = drawer.getByRole('group', { name: `Confirm restoring version ${number}` })
    await confirm.getByRole('button', { name: `Restore version ${number}` }).click()
    await drawer.getByText(new RegExp(`^Restored version ${number}\\.`)).waitFor(WAIT)
    await versions.getByRole('listitem').filter({ hasText: 'Restored' }).waitFor(WAIT)

    await ada.waitForExactText('Original findings.')
    await grace.waitForExactText('Original findings.')
    await ada.page.keyboard.press('Escape')
    await drawer.waitFor({ state: 'detached', ...WAIT })

    // A viewer reads the history but may not name or restore versions.
    await grace.page.getByRole('button', { name: 'Version history' }).click()
    const hers = grace.page.getByRole('dialog', { name: 'Version history' })
    await hers.getByRole('list', { name: 'Versions' }).getByRole('listitem').filter({ hasText: 'Before review' }).waitFor(WAIT)
    assert.equal(await hers.getByRole('button', { name: /^Restore/ }).count(), 0)
    assert.equal(await hers.getByRole('button', { name: 'Save version' }).isVisible(), false)
    await grace.page.keyboard.press('Escape')
    await hers.waitFor({ state: 'detached', ...WAIT })
  })

  test('export downloads the report as Markdown and as HTML', async () => {
    const exportButton = ada.page.getByRole('button', { name: 'Export' })
    await exportButton.click()
    const menu = ada.page.getByRole('menu', { name: 'Export' })
    const [markdown] = await Promise.all([
      ada.page.waitForEvent('download', WAIT),
      menu.getByRole('menuitem', { name: 'Download Markdown (.md)' }).click(),
    ])
    assert.equal(markdown.suggestedFilename(), `${TITLE}.md`)
    const text = await readFile(await markdown.path(), 'utf8')
    assert.match(text, new RegExp(`^# ${TITLE}\\n`))
    assert.ok(text.includes('Original findings.'), text)

    // From the keyboard: arrows open the menu and move in it, Enter downloads.
    await exportButton.focus()
    await ada.page.keyboard.press('ArrowDown')
    await ada.page.keyboard.press('ArrowDown')
    const [html] = await Promise.all([ada.page.waitForEvent('download', WAIT), ada.page.keyboard.press('Enter')])
    assert.equal(html.suggestedFilename(), `${TITLE}.html`)
    const page = await readFile(await html.path(), 'utf8')
    assert.ok(page.includes(TITLE) && page.includes('Original findings.'), page)
    assert.equal(await menu.isVisible(), false)
    assert.equal(await exportButton.evaluate((button) => document.activeElement === button), true)
  })
})
