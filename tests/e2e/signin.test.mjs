// Signing in with auth on: the app asks for a key, the key signs the browser
// in (session cookie), writes carry the CSRF token, and signing out returns
// to the sign-in page.

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import { ReportPage, WAIT } from './support/report.mjs'
import { artifact, browserSuite, newReportId } from './support/suite.mjs'

describe('sign-in with auth on', { timeout: 60_000 }, () => {
  const suite = browserSuite({ serverLog: 'signin-server.log', auth: true })

  test('a key signs the browser in, the editor works, and signing out asks again', async () => {
    const { server } = suite
    const key = await server.addUser('ada')
    assert.match(key, /^cpk_[0-9a-f]{8}_/)
    const context = suite.track(await suite.browser.newContext({ viewport: { width: 1280, height: 860 } }))
    const page = await context.newPage()
    const reportId = newReportId()
    await page.goto(new URL(`/r/${reportId}`, server.url).href)

    const form = page.getByRole('form', { name: 'Sign in to coreport' })
    await form.waitFor(WAIT)
    await form.getByLabel('API key').fill('cpk_00000000_not-a-key')
    await form.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('alert').filter({ hasText: 'not valid' }).waitFor(WAIT)
    await page.screenshot({ path: artifact('signin.png') })

    await form.getByLabel('API key').fill(key)
    await form.getByRole('button', { name: 'Sign in' }).click()
    const report = new ReportPage(page)
    await report.body.waitFor(WAIT)
    await report.waitForStatus('connected')
    await page.getByRole('group', { name: 'Account' }).or(page.locator('.account')).getByText('ada').waitFor(WAIT)
    await report.typeParagraph('Signed in and writing.')
    await report.waitForBodyText('Signed in and writing.')

    // A cookie-authenticated write from the page carries the CSRF token.
    const created = await page.evaluate(async () => {
      const csrf = document.cookie.split('; ').find((c) => c.startsWith('coreport_csrf='))?.split('=')[1]
      const response = await fetch('/api/projects/signin-e2e/runs', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': decodeURIComponent(csrf ?? '') },
        body: JSON.stringify({ name: 'from the browser' }),
      })
      return response.status
    })
    assert.equal(created, 201)
    await page.screenshot({ path: artifact('signed-in.png') })

    // Signing out in another tab ends this tab's sockets (4410): it asks for a key again.
    const other = await context.newPage()
    await other.goto(server.url)
    await other.locator('.account').getByRole('button', { name: 'Sign out' }).click()
    await other.getByRole('form', { name: 'Sign in to coreport' }).waitFor(WAIT)
    await form.waitFor(WAIT)
    await other.close()

    // Signing in again returns to the same report, with its text.
    await form.getByLabel('API key').fill(key)
    await form.getByRole('button', { name: 'Sign in' }).click()
    await report.waitForStatus('connected')
    await report.waitForBodyText('Signed in and writing.')
    assert.equal(new URL(page.url()).pathname, `/r/${reportId}`)

    await page.locator('.account').getByRole('button', { name: 'Sign out' }).click()
    await form.waitFor(WAIT)
    await page.getByText('You signed out.').waitFor(WAIT)
    const session = await page.evaluate(async () => (await fetch('/api/session')).status)
    assert.equal(session, 401)
    await context.close()
  })
})
