/** Report ids: what the server accepts, and how the home page makes new ones. */

/** The server's rule (coreport.sync.names): 1-64 characters of A-Z a-z 0-9 _ -. */
export const REPORT_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-'

/** Length of generated ids: 16 symbols of 6 bits = 96 random bits. */
export const NEW_ID_LENGTH = 16

export function isReportId(value: string): boolean {
  return REPORT_ID_PATTERN.test(value)
}

/**
 * A fresh, url-safe report id.
 *
 * The alphabet has exactly 64 symbols, so masking a random byte to 6 bits picks
 * each symbol with equal probability (no modulo bias).
 */
export function newReportId(
  fillRandom: (bytes: Uint8Array) => Uint8Array = (bytes) => crypto.getRandomValues(bytes),
): string {
  const bytes = fillRandom(new Uint8Array(NEW_ID_LENGTH))
  let id = ''
  for (const byte of bytes) id += ALPHABET[byte & 63]
  return id
}
