// Debian's Chromium driven by playwright-core: nothing is downloaded.

import { chromium } from 'playwright-core'

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

export function launchChromium(executablePath = process.env.CHROMIUM || '/usr/bin/chromium') {
  return chromium.launch({ executablePath, args: CHROMIUM_ARGS, headless: true })
}

/**
 * A browser context that is one person: their identity is in localStorage
 * before the app loads, so names and colours are known to the test.
 */
export async function personContext(browser, identity) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: 'en-US' })
  await context.addInitScript((value) => {
    // Init scripts also run in about:blank, which has no storage.
    if (window.location.protocol.startsWith('http')) {
      window.localStorage.setItem('coreport.identity', JSON.stringify(value))
    }
  }, identity)
  await context.grantPermissions(['clipboard-read', 'clipboard-write'])
  return context
}
