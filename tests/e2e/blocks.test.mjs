// The editor's blocks in a real browser against a real `coreport serve` (without auth):
// the slash menu (keyboard and screen-reader wiring), a callout and a math block made
// through it, Markdown pasted from the clipboard, all seen by a second person and read
// back as Report API blocks; a report made with the Report API (image, formula, callout,
// table of contents, Markdown block...) drawn by the editor, its table of contents
// following new headings; and a reader who gets none of the editing controls.

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import { WAIT } from './support/report.mjs'
import { rest, solidPng } from './support/runs.mjs'
import { ADA, GRACE, artifact, browserSuite } from './support/suite.mjs'

const PASTED = [
  '## Results',
  '',
  'Validation loss fell by **12%**, see [the run](https://example.com/runs/7).',
  '',
  '- loss fell',
  '- accuracy rose',
  '',
  '> Measure twice.',
  '',
  '```python',
  'print("hi")',
  '```',
  '',
  '$$',
  'E = mc^2',
  '$$',
  '',
  '> [!TIP]',
  '> Warm up the learning rate.',
].join('\n')

describe('editor blocks', { timeout: 120_000 }, () => {
  const suite = browserSuite({ serverLog: 'blocks-server.log' })

  function openAs(identity, reportId, { role } = {}) {
    if (!role) return suite.openAs(identity, reportId)
    // Play the server's answer for another role: the page must follow it (the server enforces it anyway).
    const playRole = (page) =>
      page.route(`**/api/reports/${reportId}/access`, (route) =>
        route.fulfill({ json: { report_id: reportId, role, user: { via: 'session', user: null, admin: false } } }),
      )
    return suite.openAs(identity, reportId, { beforeOpen: playRole })
  }

  /** The editor's active slash-menu option, as a screen reader is told it. */
  const activeOption = (report) => report.body.getAttribute('aria-activedescendant')

  test('the slash menu inserts a callout and a math block, pasted Markdown becomes blocks, and both people and the API see them', async () => {
    // A report the server knows (the Report API reads only registered reports), still empty.
    const { id: reportId } = await rest(suite.server.url, 'POST', '/api/reports', { title: 'Blocks', blocks: [] })
    const ada = await openAs(ADA, reportId)
    const grace = await openAs(GRACE, reportId)
    const { page } = ada
    const menu = page.getByRole('listbox', { name: 'Insert a block' })

    // `/` opens the menu; typing filters it; arrows move the active option; Escape closes it.
    await ada.body.click()
    await page.keyboard.type('/head', { delay: 5 })
    await menu.waitFor(WAIT)
    assert.deepEqual(await menu.getByRole('option').allTextContents(), [
      'Heading 1Large section heading',
      'Heading 2Medium section heading',
      'Heading 3Small section heading',
    ])
    assert.equal(await activeOption(ada), 'slash-menu-heading1')
    assert.equal(await ada.body.getAttribute('aria-controls'), 'slash-menu')
    await page.keyboard.press('ArrowDown')
    assert.equal(await activeOption(ada), 'slash-menu-heading2')
    assert.equal(await menu.getByRole('option', { name: /Heading 2/ }).getAttribute('aria-selected'), 'true')
    await page.keyboard.press('Escape')
    await menu.waitFor({ state: 'detached', ...WAIT })
    assert.equal(await activeOption(ada), null)
    for (let i = 0; i < '/head'.length; i++) await page.keyboard.press('Backspace')

    // A callout: "/call", Enter; then its kind from the menu in its header.
    await page.keyboard.type('/call', { delay: 5 })
    await menu.getByRole('option', { name: /Callout/ }).waitFor(WAIT)
    await page.screenshot({ path: artifact('slash-menu.png') })
    await page.keyboard.press('Enter')
    const callout = ada.body.locator('.callout')
    await callout.waitFor(WAIT)
    await page.keyboard.type('The eval set changed on Monday.', { delay: 5 })
    await callout.getByRole('combobox', { name: 'Callout kind' }).selectOption('warning')
    await ada.body.locator('.callout[data-kind="warning"]').waitFor(WAIT)

    // A math block: "/math" opens the formula dialog with a live KaTeX preview.
    await ada.body.locator('.callout__content').click()
    await page.keyboard.press('End')
    await page.keyboard.press('Enter')
    await page.keyboard.type('/math', { delay: 5 })
    assert.equal(await activeOption(ada), 'slash-menu-blockMath')
    await page.keyboard.press('Enter')
    const dialog = page.getByRole('dialog', { name: 'Insert math block' })
    await dialog.waitFor(WAIT)
    await dialog.getByRole('textbox', { name: 'LaTeX' }).fill('\\int_0^1 x^2\\,dx')
    await dialog.locator('.math-preview .katex').waitFor(WAIT)
    await dialog.getByRole('button', { name: 'Insert' }).click()
    await dialog.waitFor({ state: 'detached', ...WAIT })
    await ada.body.locator('[data-type="block-math"] .katex').waitFor(WAIT)

    // Markdown from the clipboard (plain text only, as a text editor copies it), in the
    // paragraph the math block left the caret in.
    await page.evaluate((text) => navigator.clipboard.writeText(text), PASTED)
    await page.keyboard.press('Control+V')
    await ada.body.locator('h2', { hasText: 'Results' }).waitFor(WAIT)

    // Grace sees every block as a block.
    const body = grace.body
    await body.locator('.callout[data-kind="warning"]', { hasText: 'The eval set changed on Monday.' }).waitFor(WAIT)
    await body.locator('.callout[data-kind="tip"]', { hasText: 'Warm up the learning rate.' }).waitFor(WAIT)
    await body.locator('h2', { hasText: 'Results' }).waitFor(WAIT)
    await body.locator('ul li', { hasText: 'accuracy rose' }).waitFor(WAIT)
    await body.locator('blockquote', { hasText: 'Measure twice.' }).waitFor(WAIT)
    await body.locator('pre code', { hasText: 'print("hi")' }).waitFor(WAIT)
    await body.locator('strong', { hasText: '12%' }).waitFor(WAIT)
    assert.equal(await body.getByRole('link', { name: 'the run' }).getAttribute('href'), 'https://example.com/runs/7')
    await grace.page.waitForFunction(() => document.querySelectorAll('.ProseMirror [data-type="block-math"] .katex').length === 2, undefined, WAIT)
    // The code is highlighted (a decoration; the stored text is plain).
    await body.locator('pre code .hljs-built_in, pre code .hljs-string').first().waitFor(WAIT)

    // The Report API reads what the editor made as its blocks.
    const report = await rest(suite.server.url, 'GET', `/api/reports/${reportId}`)
    const blocks = report.blocks.filter((block) => !(block.type === 'paragraph' && block.text.length === 0))
    assert.deepEqual(
      blocks.map((block) => block.type),
      ['callout', 'latex', 'heading', 'paragraph', 'bulleted_list', 'quote', 'code', 'latex', 'callout'],
    )
    assert.deepEqual(blocks[0], { type: 'callout', kind: 'warning', text: [{ text: 'The eval set changed on Monday.' }] })
    assert.deepEqual(blocks[1], { type: 'latex', source: '\\int_0^1 x^2\\,dx' })
    assert.deepEqual(blocks[2], { type: 'heading', level: 2, text: [{ text: 'Results' }] })
    assert.deepEqual(blocks[3].text, [
      { text: 'Validation loss fell by ' },
      { text: '12%', bold: true },
      { text: ', see ' },
      { text: 'the run', link: 'https://example.com/runs/7' },
      { text: '.' },
    ])
    assert.deepEqual(blocks[4].items.map((item) => item.text), [[{ text: 'loss fell' }], [{ text: 'accuracy rose' }]])
    assert.deepEqual(blocks[6], { type: 'code', language: 'python', code: 'print("hi")' })
    assert.deepEqual(blocks[7], { type: 'latex', source: 'E = mc^2' })
    assert.deepEqual(blocks[8], { type: 'callout', kind: 'tip', text: [{ text: 'Warm up the learning rate.' }] })
  })

  test('a report made with the Report API shows every block, and its table of contents follows new headings', async () => {
    const image = `data:image/png;base64,${Buffer.from(solidPng([66, 99, 235], 48)).toString('base64')}`
    const created = await rest(suite.server.url, 'POST', '/api/reports', {
      title: 'Sweep notes',
      blocks: [
        { type: 'table_of_contents' },
        { type: 'heading', level: 1, text: 'Overview' },
        { type: 'paragraph', text: ['Euler: ', { math: 'e^{i\\pi} + 1 = 0' }, ' and ', { text: 'a link', link: 'javascript:alert(1)' }] },
        { type: 'image', url: image, caption: 'Accuracy by epoch', alt: 'A blue plot' },
        { type: 'latex', source: '\\sum_{i=1}^{n} x_i' },
        { type: 'callout', kind: 'caution', text: 'The eval set changed on Monday.' },
        { type: 'heading', level: 2, text: 'Details' },
        { type: 'code', language: 'python', code: 'for step in range(10):\n    print(step)' },
        { type: 'markdown', source: '**Bold** notes\n\n<script>window.__pwned = 1</script>' },
        { type: 'divider' },
        { type: 'quote', text: 'Measure twice.' },
        { type: 'paragraph', text: 'End of notes.' },
      ],
    })
    const ada = await openAs(ADA, created.id)
    const { body, page } = ada

    // Formulas are KaTeX, the image loads with its caption and alt text, the callout has its kind.
    await body.locator('[data-type="block-math"] .katex').waitFor(WAIT)
    await body.locator('[data-type="inline-math"] .katex').waitFor(WAIT)
    const img = body.locator('figure.image-block img')
    await img.waitFor(WAIT)
    await page.waitForFunction(() => document.querySelector('figure.image-block img')?.naturalWidth === 48, undefined, WAIT)
    assert.equal(await img.getAttribute('alt'), 'A blue plot')
    assert.equal(await body.locator('figure.image-block figcaption').textContent(), 'Accuracy by epoch')
    await body.locator('.callout[data-kind="caution"]', { hasText: 'The eval set changed on Monday.' }).waitFor(WAIT)
    await body.locator('pre code .hljs-keyword', { hasText: 'for' }).waitFor(WAIT)
    // Markdown is drawn from its escaped source: the script stays text.
    await body.locator('.markdown-block strong', { hasText: 'Bold' }).waitFor(WAIT)
    assert.equal(await page.evaluate(() => window.__pwned), undefined)
    // A link to a script address keeps its text and loses its address.
    const unsafe = await body.locator('a', { hasText: 'a link' }).getAttribute('href')
    assert.ok(!unsafe?.startsWith('javascript:'), `unsafe href ${unsafe}`)

    // The table of contents links to the headings...
    const toc = body.getByRole('navigation', { name: 'Table of contents' })
    const tocLinks = () => toc.getByRole('link').evaluateAll((links) => links.map((a) => [a.textContent, a.getAttribute('href')]))
    await toc.getByRole('link', { name: 'Details' }).waitFor(WAIT)
    assert.deepEqual(await tocLinks(), [
      ['Overview', '#h-overview'],
      ['Details', '#h-details'],
    ])
    assert.equal(await body.locator('h2#h-details').count(), 1)

    // ...and follows a heading added in the editor, live.
    await ada.typeParagraph('## Appendix')
    await toc.getByRole('link', { name: 'Appendix' }).waitFor(WAIT)
    assert.deepEqual((await tocLinks()).map(([text]) => text), ['Overview', 'Details', 'Appendix'])
    await page.evaluate(() => window.scrollTo(0, 0))
    await toc.getByRole('link', { name: 'Appendix' }).click()
    await page.waitForFunction(() => {
      const heading = document.getElementById('h-appendix')
      const box = heading?.getBoundingClientRect()
      return box !== undefined && box.top >= 0 && box.bottom <= window.innerHeight
    }, undefined, WAIT)
    assert.equal(new URL(page.url()).hash, '#h-appendix')

    // An editor changes a formula by clicking it.
    await body.locator('[data-type="block-math"]').click()
    const dialog = page.getByRole('dialog', { name: 'Edit math block' })
    await dialog.waitFor(WAIT)
    const latex = dialog.getByRole('textbox', { name: 'LaTeX' })
    assert.equal(await latex.inputValue(), '\\sum_{i=1}^{n} x_i')
    await latex.fill('\\sum_{i=1}^{n} x_i^2')
    await dialog.getByRole('button', { name: 'Save' }).click()
    await page.waitForFunction(
      (expected) => document.querySelector('.ProseMirror [data-type="block-math"]')?.getAttribute('data-latex') === expected,
      '\\sum_{i=1}^{n} x_i^2',
      WAIT,
    )
    await body.locator('[data-type="block-math"] .katex').waitFor(WAIT)

    // A window tall enough for the whole report (a full-page shot repeats the sticky bars).
    await page.setViewportSize({ width: 1280, height: 1400 })
    await page.evaluate(() => window.scrollTo(0, 0))
    await page.screenshot({ path: artifact('blocks.png') })

    // The editor kept every block the API wrote (y-prosemirror drops what a schema lacks).
    const read = await rest(suite.server.url, 'GET', `/api/reports/${created.id}`)
    assert.deepEqual(
      read.blocks.map((block) => block.type),
      ['table_of_contents', 'heading', 'paragraph', 'image', 'latex', 'callout', 'heading', 'code', 'markdown', 'divider', 'quote', 'paragraph', 'heading'],
    )
    assert.equal(read.blocks[3].url, image)
    assert.deepEqual(read.blocks[4], { type: 'latex', source: '\\sum_{i=1}^{n} x_i^2' })
  })

  test('a reader gets no slash menu and no editing controls on blocks', async () => {
    const created = await rest(suite.server.url, 'POST', '/api/reports', {
      title: 'Read only',
      blocks: [
        { type: 'paragraph', text: 'Intro' },
        { type: 'callout', kind: 'note', text: 'Read me.' },
        { type: 'latex', source: 'a^2 + b^2 = c^2' },
        { type: 'code', language: 'python', code: 'x = 1' },
        { type: 'image', url: `data:image/png;base64,${Buffer.from(solidPng([47, 158, 68])).toString('base64')}`, caption: 'Green' },
      ],
    })
    const reader = await openAs(GRACE, created.id, { role: 'viewer' })
    const { body, page } = reader
    await page.getByText('View only').waitFor(WAIT)
    await reader.waitForReadOnly()

    // The callout shows its kind as text, not as a menu; code shows its language, not a picker.
    await body.locator('.callout__label', { hasText: 'Note' }).waitFor({ state: 'visible', ...WAIT })
    assert.equal(await body.getByRole('combobox', { name: 'Callout kind' }).isVisible(), false)
    assert.equal(await body.getByRole('combobox', { name: 'Code language' }).isVisible(), false)
    await body.locator('.code-block__language', { hasText: 'python' }).waitFor({ state: 'visible', ...WAIT })
    await body.locator('figure.image-block').hover()
    assert.equal(await body.getByRole('button', { name: 'Edit image' }).isVisible(), false)

    // Clicking a formula opens nothing; typing `/` opens no menu (and changes nothing).
    await body.locator('[data-type="block-math"]').click()
    await body.getByText('Intro').click()
    await page.keyboard.type('/')
    assert.equal(await page.getByRole('dialog').count(), 0)
    assert.equal(await page.getByRole('listbox', { name: 'Insert a block' }).count(), 0)
    const read = await rest(suite.server.url, 'GET', `/api/reports/${created.id}`)
    assert.deepEqual(read.blocks[0].text, [{ text: 'Intro' }])
  })
})
