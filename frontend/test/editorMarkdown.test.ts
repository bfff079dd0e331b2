import { getSchema, type JSONContent } from '@tiptap/core'
import { EditorState, TextSelection } from '@tiptap/pm/state'
import { describe, expect, it } from 'vitest'

import { blockExtensions } from '../src/editor/extensions'
import { inline, looksLikeMarkdown, markdownToContent } from '../src/editor/markdown'
import { markdownSlice, pastesAsMarkdown } from '../src/editor/markdownPaste'

const schema = getSchema(blockExtensions())

const text = (value: string, ...marks: JSONContent['marks'] & object) => ({ type: 'text', text: value, ...(marks.length ? { marks } : {}) })
const p = (...content: JSONContent[]) => ({ type: 'paragraph', ...(content.length ? { content } : {}) })
const item = (...content: JSONContent[]) => ({ type: 'listItem', content })

/** Every converted document must be one the editor's schema accepts as is. */
function convert(source: string): JSONContent[] {
  const nodes = markdownToContent(source)
  for (const node of nodes) schema.nodeFromJSON(node).check()
  return nodes
}

describe('markdownToContent', () => {
  it('turns headings, paragraphs with line breaks and rules into nodes', () => {
    expect(convert('# Title\n\nFirst line\nsecond line\n\n---\n\n#### Deep')).toEqual([
      { type: 'heading', attrs: { level: 1 }, content: [text('Title')] },
      p(text('First line'), { type: 'hardBreak' }, text('second line')),
      { type: 'horizontalRule' },
      // The editor has three heading levels.
      { type: 'heading', attrs: { level: 3 }, content: [text('Deep')] },
    ])
  })

  it('nests bulleted lists by indentation and keeps a numbered list’s start', () => {
    expect(convert('- one\n- two\n  - two.a\n\n7. seven\n8. eight')).toEqual([
      { type: 'bulletList', content: [item(p(text('one'))), item(p(text('two')), { type: 'bulletList', content: [item(p(text('two.a')))] })] },
      { type: 'orderedList', attrs: { start: 7 }, content: [item(p(text('seven'))), item(p(text('eight')))] },
    ])
  })

  it('makes task lists with their checked state', () => {
    expect(convert('- [x] baseline\n- [ ] ablation')).toEqual([
      {
        type: 'taskList',
        content: [
          { type: 'taskItem', attrs: { checked: true }, content: [p(text('baseline'))] },
          { type: 'taskItem', attrs: { checked: false }, content: [p(text('ablation'))] },
        ],
      },
    ])
  })

  it('keeps fenced code verbatim with its language, Markdown inside included', () => {
    expect(convert('```python\nx = 1  # **not bold**\n\nprint(x)\n```\n\n~~~\nplain\n~~~')).toEqual([
      { type: 'codeBlock', attrs: { language: 'python' }, content: [text('x = 1  # **not bold**\n\nprint(x)')] },
      { type: 'codeBlock', attrs: { language: null }, content: [text('plain')] },
    ])
  })

  it('reads $$ math on one line or several, and $inline$ math but not prices', () => {
    expect(convert('$$\\int_0^1 x^2\\,dx$$\n\n$$\na + b\n= c\n$$\n\nEuler: $e^{i\\pi} + 1 = 0$, costs $5 and $6.')).toEqual([
      { type: 'blockMath', attrs: { latex: '\\int_0^1 x^2\\,dx' } },
      { type: 'blockMath', attrs: { latex: 'a + b\n= c' } },
      p(text('Euler: '), { type: 'inlineMath', attrs: { latex: 'e^{i\\pi} + 1 = 0' } }, text(', costs $5 and $6.')),
    ])
  })

  it('makes quotes, and GitHub alerts into callouts of that kind', () => {
    expect(convert('> Measure twice.\n> Cut once.\n\n> [!TIP]\n> Use a **warm-up**.\n> It helps.')).toEqual([
      { type: 'blockquote', content: [p(text('Measure twice.'), { type: 'hardBreak' }, text('Cut once.'))] },
      {
        type: 'callout',
        attrs: { kind: 'tip' },
        content: [text('Use a '), text('warm-up', { type: 'bold' }), text('.'), { type: 'hardBreak' }, text('It helps.')],
      },
    ])
  })

  it('makes an image alone on its line a figure with its caption', () => {
    expect(convert('![Accuracy plot](https://example.com/a.png "Accuracy")')).toEqual([
      { type: 'image', attrs: { src: 'https://example.com/a.png', alt: 'Accuracy plot', title: 'Accuracy' } },
    ])
  })

  it('never lets HTML or script addresses through', () => {
    const nodes = convert('<img src=x onerror=alert(1)>\n\n[click](javascript:alert(1)) ![x](javascript:alert(1))\n\n![y](data:text/html,hi)')
    expect(nodes).toEqual([
      p(text('<img src=x onerror=alert(1)>')),
      p(text('[click](javascript:alert(1)) ![x](javascript:alert(1))')),
      p(text('![y](data:text/html,hi)')),
    ])
  })
})

describe('inline', () => {
  it('nests marks and merges equal runs', () => {
    expect(inline('**bold *both*** and ~~gone~~ `a*b*c` [**W&B**](https://wandb.ai) <https://x.org>')).toEqual([
      text('bold ', { type: 'bold' }),
      text('both', { type: 'bold' }, { type: 'italic' }),
      text(' and '),
      text('gone', { type: 'strike' }),
      text(' '),
      text('a*b*c', { type: 'code' }),
      text(' '),
      text('W&B', { type: 'link', attrs: { href: 'https://wandb.ai' } }, { type: 'bold' }),
      text(' '),
      text('https://x.org', { type: 'link', attrs: { href: 'https://x.org' } }),
    ])
  })

  it('leaves snake_case, escaped characters and lone stars alone', () => {
    expect(inline('snake_case_name 2 * 3 * 4 \\*not italic\\*')).toEqual([text('snake_case_name 2 * 3 * 4 *not italic*')])
  })
})

describe('looksLikeMarkdown', () => {
  it('takes block syntax and unmistakable inline syntax as Markdown', () => {
    for (const source of ['# Results', '- a\n- b', '> quoted', '```\ncode\n```', '$$x$$', 'see **this**', 'use `npm ci`', '[docs](https://example.com)', '- [ ] todo']) {
      expect(looksLikeMarkdown(source), source).toBe(true)
    }
  })

  it('leaves plain prose to the editor', () => {
    for (const source of ['Loss fell by half.', 'a * b = c', '1. Just one numbered line', 'price: $5', 'https://example.com/a']) {
      expect(looksLikeMarkdown(source), source).toBe(false)
    }
  })
})

describe('pasting', () => {
  const clipboard = (data: Record<string, string>) => ({ types: Object.keys(data), getData: (type: string) => data[type] ?? '' })

  it('reads plain text as Markdown, but not a page’s HTML (except a code editor’s)', () => {
    expect(pastesAsMarkdown(clipboard({ 'text/plain': '# Title\n\n- a' }))).toBe(true)
    expect(pastesAsMarkdown(clipboard({ 'text/plain': '# Title', 'text/html': '<h1>Title</h1>' }))).toBe(false)
    expect(pastesAsMarkdown(clipboard({ 'text/plain': '# Title', 'text/html': '<div>…</div>', 'vscode-editor-data': '{}' }))).toBe(true)
    expect(pastesAsMarkdown(clipboard({ 'text/plain': 'just words' }))).toBe(false)
  })

  function paste(doc: JSONContent, at: number, source: string): JSONContent {
    let state = EditorState.create({ schema, doc: schema.nodeFromJSON(doc) })
    state = state.apply(state.tr.setSelection(TextSelection.create(state.doc, at)))
    const slice = markdownSlice(schema, markdownToContent(source))!
    const next = state.apply(state.tr.replaceSelection(slice))
    next.doc.check()
    return next.doc.toJSON() as JSONContent
  }

  it('replaces an empty paragraph with the pasted blocks', () => {
    const result = paste({ type: 'doc', content: [p()] }, 1, '## Plan\n\n- a\n- b')
    expect(result.content?.map((node) => node.type)).toEqual(['heading', 'bulletList'])
    expect(result.content?.[0]).toEqual({ type: 'heading', attrs: { level: 2 }, content: [text('Plan')] })
  })

  it('joins a single pasted paragraph to the text around the caret', () => {
    const result = paste({ type: 'doc', content: [p(text('Loss  fell'))] }, 6, 'has **not**')
    expect(result.content).toEqual([p(text('Loss has '), text('not', { type: 'bold' }), text(' fell'))])
  })
})
