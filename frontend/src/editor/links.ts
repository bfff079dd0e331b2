/**
 * Which addresses the editor lets a link or an image point at. Anything in the
 * document may come from another person or a script (the Report API), so
 * every href and src is checked where it is rendered, not only where it is
 * typed: a `javascript:` or `data:text/html` address never reaches the page.
 */

const SCHEME = /^([a-z][a-z0-9+.-]*):/i
const LINK_SCHEMES = new Set(['http', 'https', 'mailto'])
const IMAGE_DATA = /^data:image\/(png|jpeg|gif|webp);/i

/** `url` as a browser reads it: without the whitespace and control characters it ignores. */
function normalized(url: string): string {
  return url.replace(/[\u0000-\u0020\u007f-\u009f\u00a0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff]/g, '')
}

/**
 * True when following `url` cannot run script: an http(s) or mailto address,
 * or one without a scheme (a relative address, which stays on this site's
 * http(s) origin; autolinked `example.com` becomes `https://example.com`).
 */
export function isSafeHref(url: string | null | undefined): boolean {
  if (!url) return false
  const scheme = SCHEME.exec(normalized(url))
  return scheme === null || LINK_SCHEMES.has(scheme[1].toLowerCase())
}

/** `src` if an image may be loaded from it (as a link, or an inline PNG/JPEG/GIF/WebP), else null. */
export function safeImageSrc(src: string | null | undefined): string | null {
  if (!src) return null
  const url = src.trim()
  if (IMAGE_DATA.test(url)) return url
  const scheme = SCHEME.exec(normalized(url))
  if (scheme !== null && !['http', 'https'].includes(scheme[1].toLowerCase())) return null
  return url
}
