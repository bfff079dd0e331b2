/**
 * WebSocket close codes, read from the JSON file the server reads too
 * (src/coreport/protocol/close_codes.json), so both sides agree on what a code
 * means and whether reconnecting can help.
 */

import table from '@protocol/close_codes.json'

export interface CloseCode {
  name: string
  code: number
  reason: string
  retry: boolean
}

interface RawCloseCode {
  code: number
  reason: string
  retry: boolean
}

export const CLOSE_CODES: ReadonlyMap<number, CloseCode> = new Map(
  Object.entries(table as Record<string, unknown>)
    .filter((entry): entry is [string, RawCloseCode] => !entry[0].startsWith('_'))
    .map(([name, raw]) => [raw.code, { name, code: raw.code, reason: raw.reason, retry: raw.retry }]),
)

/**
 * What a close means to the client. Codes outside the table follow the
 * protocol's convention: 4400-4499 are client errors that a retry cannot fix;
 * anything else (1006 after a network drop, a proxy's 1001, ...) is transient.
 */
export function describeClose(code: number, reason = ''): CloseCode {
  const known = CLOSE_CODES.get(code)
  if (known) return known
  const permanent = code >= 4400 && code < 4500
  return {
    name: 'UNKNOWN',
    code,
    reason: reason || (permanent ? 'connection refused' : 'connection lost'),
    retry: !permanent,
  }
}

/** The provider's `shouldReconnect` hook. */
export function shouldReconnect(event: { code: number; reason: string }): boolean {
  return describeClose(event.code, event.reason).retry
}
