// Official Node Yjs clients (yjs + y-websocket, unmodified) for the interop tests, and
// ways to wait on their events with a deadline instead of sleeping.
//
// The server under test is named by COREPORT_WS_BASE, the base a WebsocketProvider
// takes, e.g. ws://127.0.0.1:8000/ws/reports (the pytest wrapper sets it).

import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'

export const TIMEOUT_MS = 15_000

/** The y-websocket base URL of the server under test. */
export const wsBase = () => {
  const base = process.env.COREPORT_WS_BASE
  if (!base) {
    throw new Error(
      'COREPORT_WS_BASE is not set: point it at a running server, ' +
        'e.g. COREPORT_WS_BASE=ws://127.0.0.1:8000/ws/reports'
    )
  }
  return base
}

/** A report id no other test uses, so tests can share one server. */
export const uniqueReportId = (prefix) =>
  `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 10)}`

/**
 * Reject after `ms` unless `promise` settles first; `what` names the awaited thing.
 * @template T
 * @param {Promise<T>} promise
 * @param {string} what
 * @param {number} [ms]
 * @returns {Promise<T>}
 */
export const withTimeout = (promise, what, ms = TIMEOUT_MS) => {
  let timer
  const deadline = new Promise((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
  })
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer))
}

/**
 * Resolve once `condition()` holds, re-checking it after each `event` of each emitter
 * (lib0 observables: Y.Doc, Awareness, WebsocketProvider).
 * @param {Array<{on: Function, off: Function}>} emitters
 * @param {string} event
 * @param {() => boolean} condition
 * @param {string} what
 */
export const waitFor = (emitters, event, condition, what) => {
  let check
  const met = new Promise((resolve) => {
    check = () => {
      if (condition()) resolve()
    }
    for (const emitter of emitters) emitter.on(event, check)
    check()
  })
  return withTimeout(met, what).finally(() => {
    for (const emitter of emitters) emitter.off(event, check)
  })
}

/**
 * A Y.Doc bound to `room` through the official WebsocketProvider. BroadcastChannel is
 * disabled so that clients in one process can only reach each other through the server.
 */
export class Client {
  constructor (room, { connect = true, user = null } = {}) {
    this.room = room
    this.doc = new Y.Doc()
    this.provider = new WebsocketProvider(wsBase(), room, this.doc, {
      WebSocketPolyfill: WebSocket,
      disableBc: true,
      connect
    })
    this.awareness = this.provider.awareness
    if (user !== null) this.awareness.setLocalStateField('user', user)
  }

  get clientID () {
    return this.doc.clientID
  }

  /** Resolve once the provider has completed the sync handshake with the server. */
  synced () {
    return waitFor([this.provider], 'sync', () => this.provider.synced, `${this.room} to sync`)
  }

  /** Resolve once `condition()` holds, re-checked after each change to the doc. */
  until (condition, what) {
    return waitFor([this.doc], 'update', condition, what)
  }

  /** Resolve once `condition(states)` holds for this client's view of awareness. */
  awarenessUntil (condition, what) {
    return waitFor([this.awareness], 'change', () => condition(this.awareness.getStates()), what)
  }

  /** The remote users this client sees, by client id (its own state left out). */
  peers () {
    const peers = new Map()
    for (const [clientID, state] of this.awareness.getStates()) {
      if (clientID !== this.clientID) peers.set(clientID, state)
    }
    return peers
  }

  destroy () {
    this.provider.destroy()
    this.doc.destroy() // also destroys the awareness and its timer
  }
}

/** Open a client on `room` and wait for it to sync. */
export const connected = async (room, options = {}) => {
  const client = new Client(room, options)
  try {
    await client.synced()
  } catch (error) {
    client.destroy()
    throw error
  }
  return client
}

/** JSON with object keys sorted: Y.Map keeps insertion order, which differs between peers. */
export const canonicalJSON = (value) =>
  JSON.stringify(value, (_key, v) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v
  )

const sameBytes = (a, b) => a.length === b.length && a.every((byte, i) => byte === b[i])

/**
 * Resolve once every client holds the same state vector and the same `content(doc)`,
 * re-checked after each update of any of them; returns that content.
 * @param {Array<Client>} clients
 * @param {(doc: Y.Doc) => string} content
 */
export const untilConverged = async (clients, content) => {
  const agree = () => {
    const [first, ...rest] = clients.map((c) => Y.encodeStateVector(c.doc))
    if (!rest.every((sv) => sameBytes(sv, first))) return false
    const [expected, ...others] = clients.map((c) => content(c.doc))
    return others.every((other) => other === expected)
  }
  const rooms = clients.map((c) => c.room).join(', ')
  try {
    await waitFor(clients.map((c) => c.doc), 'update', agree, `${rooms} to converge`)
  } catch (error) {
    const states = clients.map((c) => `  client ${c.clientID}: ${content(c.doc)}`)
    error.message += `; contents:\n${states.join('\n')}`
    throw error
  }
  return content(clients[0].doc)
}

/** Destroy every client, even when a test failed half-way. */
export const destroyAll = (clients) => {
  for (const client of clients) client.destroy()
}
