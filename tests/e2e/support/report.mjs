// What a test does with the report page, in the page's own terms.

import assert from 'node:assert/strict'

/** How long a test waits for something the page should show. */
export const WAIT = { timeout: 15_000 }

export class ReportPage {
  /** @param {import('playwright-core').Page} page */
  constructor(page) {
    this.page = page
    this.title = page.getByRole('textbox', { name: 'Report title' })
    this.body = page.getByRole('textbox', { name: 'Report body' })
    this.status = page.getByRole('status')
    this.presence = page.getByRole('list', { name: 'People in this report' })
  }

  async open(baseUrl, reportId) {
    await this.page.goto(new URL(`/r/${reportId}`, baseUrl).href)
    await this.body.waitFor(WAIT)
  }

  /**
   * Wait until the page knows what this person may do: the body editable, or the chip
   * that says why not. With no role remembered for the report, the page lets nobody write
   * until the server answers (asked at once, and again after the first sync).
   */
  async waitForRole() {
    await this.page.waitForFunction(
      () =>
        document.querySelector('.ProseMirror')?.getAttribute('contenteditable') === 'true' ||
        document.querySelector('.access-chip:not([hidden])') !== null,
      undefined,
      WAIT,
    )
  }

  /**
   * From the next page load on, note whether the body or the title is ever writable, even
   * for a moment; `everWritable()` tells.
   */
  async watchWritable() {
    await this.page.addInitScript(() => {
      window.__everWritable = false
      const check = () => {
        const body = document.querySelector('.ProseMirror')
        const title = document.querySelector('textarea.report__title')
        if (body?.getAttribute('contenteditable') === 'true' || (title && !title.readOnly)) window.__everWritable = true
      }
      new MutationObserver(check).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['contenteditable', 'readonly'] })
    })
  }

  async everWritable() {
    return this.page.evaluate(() => window.__everWritable)
  }

  /** Wait until the body is read-only: the page has heard that this person may not edit. */
  async waitForReadOnly() {
    await this.page.waitForFunction(() => document.querySelector('.ProseMirror')?.getAttribute('contenteditable') === 'false', undefined, WAIT)
  }

  async waitForStatus(kind, labelPart) {
    await this.explainStatus(`waiting for status ${kind} ${labelPart ?? ''}`, () => this.page.waitForFunction(
      ([kind, labelPart]) => {
        const status = document.querySelector('.status')
        return status?.dataset.state === kind && (!labelPart || status.textContent.includes(labelPart))
      },
      [kind, labelPart],
      WAIT,
    ))
  }

  async explainStatus(what, step) {
    try {
      return await step()
    } catch (error) {
      const status = await this.status.evaluate((el) => `${el.dataset.state}: ${el.title}`).catch(() => '(none)')
      throw new Error(`${what} failed: ${error.message}\nthe status is ${status}`, { cause: error })
    }
  }

  /** Type at the end of the body, in a new block after the last one. */
  async typeParagraph(text) {
    await this.placeCaretAtEnd()
    if ((await this.bodyText()).trim() !== '') await this.page.keyboard.press('Enter')
    await this.page.keyboard.type(text, { delay: 5 })
  }

  /**
   * Put the caret at the very end of the document, and wait until both the page and the
   * editor show it there. Keys act on the editor's selection, which follows the page's a
   * moment later; a key pressed in between lands where the editor last had the caret
   * (seen: Enter splitting the first heading), so the caret counts as placed only once
   * the two agree. A click whose selection the editor never took is made again.
   */
  async placeCaretAtEnd() {
    await this.waitForRole()
    const atEnd = () =>
      this.page.waitForFunction(() => {
        const root = document.querySelector('.ProseMirror')
        const selection = window.getSelection()
        if (!root || !selection?.isCollapsed || !root.lastElementChild?.contains(selection.focusNode)) return false
        // Nothing but others' caret widgets may follow the caret.
        const after = document.createRange()
        after.setStart(selection.focusNode, selection.focusOffset)
        after.setEnd(root, root.childNodes.length)
        const rest = after.cloneContents()
        for (const caret of rest.querySelectorAll('.collaboration-carets__caret')) caret.remove()
        if (rest.textContent !== '') return false
        // TipTap keeps its editor on the editable element; the document ends in a
        // textblock, whose end is one position before the document's.
        const state = root.editor?.state
        return state !== undefined && state.selection.empty && state.selection.from === state.doc.content.size - 1
      }, undefined, { timeout: 3_000 })
    const describe = () =>
      this.page.evaluate(() => {
        const state = document.querySelector('.ProseMirror')?.editor?.state
        const selection = window.getSelection()
        return `the editor's caret is at ${state?.selection.from} of ${state?.doc.content.size}, the page's in ${selection?.focusNode?.nodeName} at ${selection?.focusOffset}`
      })
    for (let attempt = 1; ; attempt++) {
      await this.body.locator(':scope > *').last().click()
      await this.page.keyboard.press('Control+End')
      try {
        await atEnd()
        return
      } catch (error) {
        if (attempt === 3) {
          const where = await describe().catch(() => 'unknown')
          await this.explainFailure(`placing the caret at the end (${where})`, () => Promise.reject(error))
        }
      }
    }
  }

  /** Type at the end of the first paragraph that starts with `start`. */
  async typeAtEndOf(start, text) {
    await this.waitForRole()
    await this.explainFailure(`finding the paragraph ${JSON.stringify(start)}`, () =>
      this.body.locator('p', { hasText: start }).first().click(WAIT),
    )
    await this.page.keyboard.press('End')
    await this.page.keyboard.type(text, { delay: 5 })
  }

  /** The document's text, one line per top-level block, without others' caret labels. */
  async bodyText() {
    return this.body.evaluate((root) => {
      const copy = root.cloneNode(true)
      for (const caret of copy.querySelectorAll('.collaboration-carets__caret')) caret.remove()
      return Array.from(copy.children, (block) => block.textContent).join('\n')
    })
  }

  /** Wait until the body's text, without others' caret labels, is exactly `text`. */
  async waitForExactText(text) {
    await this.explainFailure(`waiting for the text ${JSON.stringify(text)}`, () =>
      this.page.waitForFunction(
        (text) => {
          const copy = document.querySelector('.ProseMirror')?.cloneNode(true)
          if (!copy) return false
          for (const caret of copy.querySelectorAll('.collaboration-carets__caret')) caret.remove()
          return copy.textContent === text
        },
        text,
        WAIT,
      ),
    )
  }

  async waitForBodyText(...parts) {
    await this.explainFailure(`waiting for ${JSON.stringify(parts)}`, () =>
      this.page.waitForFunction(
        (parts) => {
          const text = document.querySelector('.ProseMirror')?.textContent ?? ''
          return parts.every((part) => text.includes(part))
        },
        parts,
        WAIT,
      ),
    )
  }

  /** Run `step`; if it fails, say what the document looked like. */
  async explainFailure(what, step) {
    try {
      return await step()
    } catch (error) {
      const html = await this.body.innerHTML().catch(() => '(unavailable)')
      throw new Error(`${what} failed: ${error.message}\nthe body is: ${html}`, { cause: error })
    }
  }

  /**
   * Wait until every edit so far is committed to IndexedDB: a read-only
   * transaction on the update log completes only after the writes begun
   * before it, so this is an event, not a guess.
   */
  async waitForLocalStore(reportId) {
    await this.page.evaluate(
      (name) =>
        new Promise((resolve, reject) => {
          const open = indexedDB.open(name)
          open.onerror = () => reject(open.error)
          open.onsuccess = () => {
            const db = open.result
            const tx = db.transaction('updates', 'readonly')
            tx.objectStore('updates').count()
            tx.oncomplete = () => {
              db.close()
              resolve()
            }
            tx.onerror = () => reject(tx.error)
          }
        }),
      `coreport/reports/${reportId}`,
    )
  }

  async waitForTitle(expected) {
    await this.page.waitForFunction(
      (expected) => document.querySelector('.report__title')?.value === expected,
      expected,
      WAIT,
    )
  }

  async waitForCaretOf(name) {
    await this.page
      .locator('.collaboration-carets__label', { hasText: name })
      .first()
      .waitFor({ state: 'visible', ...WAIT })
  }

  async waitForPeople(count) {
    await this.page.waitForFunction(
      (count) => document.querySelectorAll('.presence .avatar:not(.avatar--more)').length === count,
      count,
      WAIT,
    )
  }

  async peopleNames() {
    return this.presence.locator('.avatar').evaluateAll((items) => items.map((item) => item.dataset.name))
  }

  async screenshot(path) {
    await this.page.screenshot({ path, fullPage: false })
  }
}

export function assertIncludesAll(text, parts) {
  for (const part of parts) assert.ok(text.includes(part), `expected ${JSON.stringify(part)} in ${JSON.stringify(text)}`)
}
