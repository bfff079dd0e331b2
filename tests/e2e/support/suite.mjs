// What every browser test file sets up around its tests: a real `coreport serve`, a
// Chromium, a browser context per person (closed at the end), a check after each test
// that no page threw, and the server's log saved to artifacts/.

import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { after, afterEach, before } from 'node:test'
import { fileURLToPath } from 'node:url'

import { signIn } from './accounts.mjs'
import { launchChromium, personContext } from './browser.mjs'
import { ReportPage } from './report.mjs'
import { startServer } from './server.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const repo = resolve(here, '../../..')

/** The `coreport` executable the tests start. */
export const COREPORT = process.env.COREPORT_BIN || join(repo, '.venv/bin/coreport')
/** Where screenshots and server logs go (gitignored). */
export const ARTIFACTS = resolve(here, '../artifacts')
export const artifact = (name) => join(ARTIFACTS, name)

/** A new report id, as the app makes them. */
export const newReportId = () => randomBytes(12).toString('base64url')

// People as the app knows them without auth: their identity is in localStorage.
export const ADA = { id: 'e2e-ada', name: 'Ada Lovelace', color: '#7048e8' }
export const GRACE = { id: 'e2e-grace', name: 'Grace Hopper', color: '#0c8599' }
export const ALAN = { id: 'e2e-alan', name: 'Alan Turing', color: '#e8590c' }

/**
 * Register the suite's hooks in the enclosing `describe`: before its tests a server
 * (with auth if `auth`) and a browser start; after each test no page may have thrown;
 * after all, every context and the browser close, and the server stops, its output
 * saved as `artifacts/<serverLog>`. Hooks the file registers afterwards run after these.
 *
 * The returned object's `server` and `browser` are set once the suite's `before` has run.
 * @param {{ serverLog: string, auth?: boolean }} options
 */
export function browserSuite({ serverLog, auth = false }) {
  const contexts = []
  const pageErrors = []

  const suite = {
    /** @type {Awaited<ReturnType<typeof startServer>>} */
    server: undefined,
    /** @type {import('playwright-core').Browser} */
    browser: undefined,

    /** Collect `context`'s uncaught page errors (labelled `who`) and close it at the end. */
    track(context, who) {
      context.on('weberror', (error) => {
        const e = error.error()
        const message = e?.stack || e?.message || String(e)
        pageErrors.push(who ? `${who}: ${message}` : message)
      })
      contexts.push(context)
      return context
    },

    /**
     * A browser context that is `identity` (support/browser.mjs), tracked; signed in
     * with `key` when one is given (the server must have auth on).
     */
    async person(identity, { key } = {}) {
      const context = suite.track(await personContext(suite.browser, identity), identity.name)
      if (key !== undefined) await signIn(context, suite.server.url, key)
      return context
    },

    /**
     * `identity` opens report `reportId` in a new context and waits until it is connected
     * and the page knows what they may do.
     * `beforeOpen(page)` runs on the new page first (routes, timeouts).
     * @returns {Promise<ReportPage>} the page's context is `report.page.context()`
     */
    async openAs(identity, reportId, { beforeOpen } = {}) {
      const context = await suite.person(identity)
      const report = new ReportPage(await context.newPage())
      await beforeOpen?.(report.page)
      await report.open(suite.server.url, reportId)
      await report.waitForStatus('connected')
      await report.waitForRole()
      return report
    },
  }

  before(async () => {
    await mkdir(ARTIFACTS, { recursive: true })
    suite.server = await startServer({ bin: COREPORT, auth })
    suite.browser = await launchChromium()
  })

  afterEach(() => {
    const errors = pageErrors.splice(0)
    assert.deepEqual(errors, [], `uncaught errors in the page:\n${errors.join('\n')}`)
  })

  after(async () => {
    for (const context of contexts) await context.close()
    await suite.browser?.close()
    if (suite.server) {
      await writeFile(artifact(serverLog), suite.server.output())
      await suite.server.stop()
    }
  })

  return suite
}
