import { describe, expect, it } from 'vitest'

import { escapeHtml, inlineHtml, markdownToHtml, safeHref } from '../src/panels/markdown'

describe('markdownToHtml', () => {
  it('renders headings, paragraphs, lists, code, quotes and rules', () => {
    const html = markdownToHtml('# Title\n\nSome **bold** and *it* and `x<y`.\nNext line.\n\n- one\n- two\n\n3. three\n4. four\n\n> quoted\n\n---\n\n```\na < b\n```')
    expect(html).toBe(
      '<h3>Title</h3>' +
        '<p>Some <strong>bold</strong> and <em>it</em> and <code>x&lt;y</code>.<br>Next line.</p>' +
        '<ul><li>one</li><li>two</li></ul>' +
        '<ol start="3"><li>three</li><li>four</li></ol>' +
        '<blockquote><p>quoted</p></blockquote>' +
        '<hr>' +
        '<pre><code>a &lt; b</code></pre>',
    )
  })

  it('escapes every piece of HTML in the source', () => {
    const html = markdownToHtml('<script>alert(1)</script>\n\n<img src=x onerror=alert(1)> **<b>x</b>**')
    expect(html).not.toMatch(/<script|<img|<b>/)
    expect(html).toBe('<p>&lt;script&gt;alert(1)&lt;/script&gt;</p><p>&lt;img src=x onerror=alert(1)&gt; <strong>&lt;b&gt;x&lt;/b&gt;</strong></p>')
  })

  it('keeps only web and mail links, with their attributes escaped', () => {
    expect(inlineHtml('[W&B](https://wandb.ai/a?b=1&c="2")')).toBe(
      '<a href="https://wandb.ai/a?b=1&amp;c=&quot;2&quot;" target="_blank" rel="noopener noreferrer nofollow">W&amp;B</a>',
    )
    expect(inlineHtml('[x](javascript:alert(1))')).toBe('[x](javascript:alert(1))')
    expect(inlineHtml('[x](data:text/html,hi)')).toBe('[x](data:text/html,hi)')
  })

  it('leaves snake_case names alone', () => {
    expect(inlineHtml('val_loss and _this_')).toBe('val_loss and <em>this</em>')
  })

  it('renders nothing for nothing', () => {
    expect(markdownToHtml('')).toBe('')
  })
})

describe('helpers', () => {
  it('escape and check links', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;')
    expect([safeHref('https://a.b'), safeHref(' mailto:a@b '), safeHref('JAVASCRIPT:x'), safeHref('/relative')]).toEqual(['https://a.b', 'mailto:a@b', null, null])
  })
})
