import { describe, expect, it } from 'vitest'

import { isSafeHref, safeImageSrc } from '../src/editor/links'

describe('isSafeHref', () => {
  it('allows web and mail addresses, and relative ones', () => {
    for (const url of ['https://example.com/a?b=1', 'HTTP://example.com', 'mailto:ada@example.com', '/r/abc', '#results', 'example.com/page']) {
      expect(isSafeHref(url), url).toBe(true)
    }
  })

  it('refuses every other scheme, however it is disguised', () => {
    for (const url of ['javascript:alert(1)', 'JavaScript:alert(1)', ' javascript:alert(1)', 'java\tscript:alert(1)', 'java\nscript:x', '\u0000javascript:x', 'data:text/html,<script>', 'vbscript:x', 'file:///etc/passwd', 'tel:123', '', null, undefined]) {
      expect(isSafeHref(url), JSON.stringify(url)).toBe(false)
    }
  })
})

describe('safeImageSrc', () => {
  it('loads http(s), relative and inline raster images', () => {
    expect(safeImageSrc(' https://example.com/a.png ')).toBe('https://example.com/a.png')
    expect(safeImageSrc('/api/runs/r1/media/3')).toBe('/api/runs/r1/media/3')
    expect(safeImageSrc('data:image/png;base64,iVBORw0KGgo=')).toBe('data:image/png;base64,iVBORw0KGgo=')
  })

  it('refuses scripts, other data and other schemes', () => {
    for (const src of ['javascript:alert(1)', 'data:text/html;base64,PHNjcmlwdD4=', 'data:image/svg+xml;utf8,<svg onload=alert(1)>', 'mailto:a@b.c', '', null]) {
      expect(safeImageSrc(src), String(src)).toBeNull()
    }
  })
})
