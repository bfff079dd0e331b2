/**
 * What the connection indicator says, as a pure function of what the session
 * knows. Kept free of DOM and provider objects so every case is unit-tested.
 */

import type { CloseCode } from './closeCodes'

export type SocketStatus = 'connecting' | 'connected' | 'disconnected'

export interface ConnectionFacts {
  socket: SocketStatus
  /** The server's state has been received since the socket (re)opened. */
  synced: boolean
  /** navigator.onLine: false when the browser knows it has no network. */
  online: boolean
  /** The server's close of the last connection, if it was closed by the server. */
  lastClose: CloseCode | null
  /** The provider gave up: the last close code said reconnecting cannot help. */
  stopped: boolean
  /** Edits made on this device that the server has not been sent yet. */
  pending: boolean
}

export type ConnectionKind = 'connected' | 'connecting' | 'offline' | 'stopped'

export interface ConnectionView {
  kind: ConnectionKind
  /** Short text next to the dot. */
  label: string
  /** Longer explanation for the tooltip and screen readers. */
  detail: string
}

const PENDING = 'local edits pending'

export function describeConnection(facts: ConnectionFacts): ConnectionView {
  const { socket, synced, online, lastClose, stopped, pending } = facts
  const saved = pending
    ? 'Local edits pending: they are kept on this device and merge once connected.'
    : 'No local edits are waiting.'

  if (stopped) {
    const reason = lastClose ? capitalize(lastClose.reason) : 'Disconnected'
    const code = lastClose ? ` (code ${lastClose.code})` : ''
    return {
      kind: 'stopped',
      label: reason,
      detail: `The server closed the connection${code} and it will not reconnect by itself. ${saved}`,
    }
  }
  if (socket === 'connected' && synced) {
    return { kind: 'connected', label: 'Connected', detail: 'Connected: edits are shared live.' }
  }
  if (socket === 'connected') {
    return { kind: 'connecting', label: 'Syncing…', detail: 'Connected, exchanging changes with the server.' }
  }
  if (!online) {
    return {
      kind: 'offline',
      label: pending ? `Offline · ${PENDING}` : 'Offline',
      detail: `No network. ${saved}`,
    }
  }
  if (lastClose) {
    return {
      kind: 'offline',
      label: pending ? `Reconnecting · ${PENDING}` : 'Reconnecting…',
      detail: `Connection closed: ${lastClose.reason} (code ${lastClose.code}). Retrying. ${saved}`,
    }
  }
  return {
    kind: 'connecting',
    label: pending ? `Connecting · ${PENDING}` : 'Connecting…',
    detail: 'Connecting to the server.',
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}
