/**
 * One open report: its two Yjs documents (the report and its comment threads),
 * their y-websocket connections, their IndexedDB copies, and the connection
 * facts the status indicator shows. Views get everything from here and call
 * `destroy()` when they leave, which closes every socket and listener it made.
 */

import { IndexeddbPersistence } from 'y-indexeddb'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'

import { describeClose, shouldReconnect } from './closeCodes'
import { describeConnection, type ConnectionFacts, type ConnectionView } from './connectionStatus'
import type { Identity } from './identity'
import { activeLinkToken } from './linkToken'
import { PendingEdits } from './pendingEdits'

export interface SessionOptions {
  reportId: string
  /** e.g. `wss://example.org/ws/reports`; rooms are `{id}` and `{id}/comments`. */
  wsBase: string
  identity: Identity
  storage: Storage
  /** The server closed a socket with 4401: nobody (or an expired session) is signed in. */
  onUnauthorized?: () => void
  /** The server closed a socket with 4410 (access revoked: signed out elsewhere, key revoked, removed). */
  onRevoked?: () => void
}

/** The origin of title edits made in this tab (Yjs transaction origin). */
export const LOCAL_TITLE_ORIGIN = Symbol('coreport.title')

/** Close code: no or an invalid credential (protocol/close_codes.json). */
const UNAUTHORIZED = 4401
/** Close code: access revoked (protocol/close_codes.json). */
const REVOKED = 4410

export class ReportSession {
  readonly reportId: string
  readonly doc = new Y.Doc()
  readonly commentsDoc = new Y.Doc()
  readonly provider: WebsocketProvider
  readonly commentsProvider: WebsocketProvider
  readonly pending: PendingEdits

  private readonly persistence: IndexeddbPersistence
  private readonly commentsPersistence: IndexeddbPersistence
  private facts: ConnectionFacts
  private readonly listeners = new Set<(view: ConnectionView) => void>()
  private readonly cleanups: Array<() => void> = []

  private readonly onUnauthorized: (() => void) | undefined
  private readonly onRevoked: (() => void) | undefined

  constructor({ reportId, wsBase, identity, storage, onUnauthorized, onRevoked }: SessionOptions) {
    this.onUnauthorized = onUnauthorized
    this.onRevoked = onRevoked
    this.reportId = reportId
    this.pending = new PendingEdits(storage, reportId)
    // IndexedDB first: the stored copy loads while the socket connects, and
    // edits made offline are stored as they happen.
    this.persistence = new IndexeddbPersistence(`coreport/reports/${reportId}`, this.doc)
    this.commentsPersistence = new IndexeddbPersistence(`coreport/reports/${reportId}/comments`, this.commentsDoc)

    // A share link in use (linkToken.ts) authenticates the sockets; else the session cookie.
    const token = activeLinkToken()
    const params: Record<string, string> = token === null ? {} : { token }
    const options = { shouldReconnect, params }
    this.provider = new WebsocketProvider(wsBase, reportId, this.doc, options)
    // Presence (who is here, cursors) travels on the report socket only.
    this.commentsProvider = new WebsocketProvider(wsBase, `${reportId}/comments`, this.commentsDoc, options)
    this.provider.awareness.setLocalStateField('user', { ...identity })

    this.facts = {
      socket: 'connecting',
      synced: false,
      online: navigator.onLine,
      lastClose: null,
      stopped: false,
      pending: this.pending.pending,
    }
    this.watchReportConnection()
    this.watchNetwork()
  }

  get title(): Y.Text {
    return this.doc.getText('title')
  }

  get body(): Y.XmlFragment {
    return this.doc.getXmlFragment('body')
  }

  get connection(): ConnectionView {
    return describeConnection(this.facts)
  }

  /** Resolves once the IndexedDB copies have been loaded into both documents. */
  whenLoadedLocally(): Promise<unknown> {
    return Promise.all([this.persistence.whenSynced, this.commentsPersistence.whenSynced])
  }

  onConnectionChange(listener: (view: ConnectionView) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Try again after the server refused us (a close code with retry=false). */
  reconnect(): void {
    this.update({ stopped: false, lastClose: null })
    this.provider.connect()
    this.commentsProvider.connect()
  }

  destroy(): void {
    for (const cleanup of this.cleanups.splice(0)) cleanup()
    this.listeners.clear()
    this.provider.destroy()
    this.commentsProvider.destroy()
    // Destroying a doc also closes its IndexedDB persistence (it listens for 'destroy').
    this.doc.destroy()
    this.commentsDoc.destroy()
  }

  private watchReportConnection(): void {
    const { provider, doc, pending } = this

    const onStatus = ({ status }: { status: 'connected' | 'connecting' | 'disconnected' }) =>
      this.update({ socket: status, synced: provider.synced })
    const onSync = (synced: boolean) => {
      if (synced) {
        pending.synced()
        this.update({ synced: true, lastClose: null })
      } else {
        this.update({ synced: false })
      }
    }
    const onClose = (event: CloseEvent | null) => {
      // null: we closed it ourselves (offline, destroy): not the server's verdict.
      this.update({ lastClose: event ? describeClose(event.code, event.reason) : null })
      // Later: the handler may tear this session down, which must not happen inside the provider.
      if (event?.code === UNAUTHORIZED) queueMicrotask(() => this.onUnauthorized?.())
      if (event?.code === REVOKED) queueMicrotask(() => this.onRevoked?.())
    }
    const onClosed = () => {
      // The provider stopped reconnecting (shouldReconnect said no); the comments
      // socket is refused for the same reason, so stop it too.
      this.commentsProvider.disconnect()
      this.update({ stopped: true })
    }
    const onUpdate = (_update: Uint8Array, origin: unknown) => {
      if (origin === provider || origin === this.persistence) return
      pending.localEdit(provider.wsconnected && provider.synced)
    }
    const stopPending = pending.onChange((value) => this.update({ pending: value }))

    provider.on('status', onStatus)
    provider.on('sync', onSync)
    provider.on('connection-close', onClose)
    provider.on('closed', onClosed)
    doc.on('update', onUpdate)
    this.cleanups.push(() => {
      provider.off('status', onStatus)
      provider.off('sync', onSync)
      provider.off('connection-close', onClose)
      provider.off('closed', onClosed)
      doc.off('update', onUpdate)
      stopPending()
    })
  }

  /**
   * The browser knows before the socket does when the network goes: disconnect
   * at once (so edits are marked pending instead of written into a dead socket)
   * and reconnect when it returns.
   */
  private watchNetwork(): void {
    const onOffline = () => {
      this.update({ online: false })
      this.provider.disconnect()
      this.commentsProvider.disconnect()
    }
    const onOnline = () => {
      this.update({ online: true })
      if (this.facts.stopped) return
      this.provider.connect()
      this.commentsProvider.connect()
    }
    window.addEventListener('offline', onOffline)
    window.addEventListener('online', onOnline)
    this.cleanups.push(() => {
      window.removeEventListener('offline', onOffline)
      window.removeEventListener('online', onOnline)
    })
  }

  private update(change: Partial<ConnectionFacts>): void {
    this.facts = { ...this.facts, ...change }
    const view = describeConnection(this.facts)
    for (const listener of this.listeners) listener(view)
  }
}
