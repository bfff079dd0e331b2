#!/usr/bin/env node
/**
 * The one load generator of the benchmark, used identically against every server.
 *
 * It speaks the y-websocket protocol directly over `ws`: updates are made with real
 * yjs documents ahead of time and sent as pre-encoded frames, so the hot path is a
 * timestamp and a `send`. Every inserted piece of text carries a marker
 * `~bm<writer:2><seq:8>`; observers find markers in the raw update bytes (yjs v1 stores
 * strings as UTF-8), so a server that re-encodes or merges updates is measured correctly.
 * Sender and observers live in this process, so send and receipt times share one clock.
 *
 *   node loadgen.mjs --scenario S1 --url 'ws://127.0.0.1:8000/ws/reports/{room}' --pid 1234
 *
 * `--url` and `--pid` may repeat (clients are spread round-robin over the URLs; CPU and
 * memory are summed over the pids), which is how several server instances are measured.
 * `--protocol hocuspocus` speaks Hocuspocus's framing instead (see `Framing` below).
 * Output: one JSON object per line on stdout; the last one has `"type": "result"`.
 */

import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import http from 'node:http'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'

import * as encoding from 'lib0/encoding'
import WebSocket from 'ws'
import * as Y from 'yjs'

// -- protocol ------------------------------------------------------------------------

const MSG_SYNC = 0
const MSG_AWARENESS = 1
const MSG_SYNC_REPLY = 4 // Hocuspocus: a sync message that asks for no step 1 in return
const SYNC_STEP1 = 0
const SYNC_STEP2 = 1
const SYNC_UPDATE = 2

const syncMessage = (kind, payload) => {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MSG_SYNC)
  encoding.writeVarUint(encoder, kind)
  encoding.writeVarUint8Array(encoder, payload)
  return Buffer.from(encoding.toUint8Array(encoder))
}

const EMPTY_STATE_VECTOR = new Uint8Array([0])
const EMPTY_UPDATE = new Uint8Array([0, 0])
const STEP1_EMPTY = syncMessage(SYNC_STEP1, EMPTY_STATE_VECTOR)
const STEP2_EMPTY = syncMessage(SYNC_STEP2, EMPTY_UPDATE)

/**
 * How sync messages travel on the wire. y-websocket (coreport, the reference,
 * pycrdt-websocket) sends them as they are, one document per socket named by the URL.
 * Hocuspocus multiplexes documents on a socket: every message starts with the document's
 * name (a lib0 varString), its message types extend y-websocket's (4 = a sync reply,
 * 8 = a sync status ack, 2 = auth), and the server handles nothing for a document before an
 * auth message for it (@hocuspocus/provider sends one with its token, empty when the
 * server has no onAuthenticate hook). This generator speaks that framing itself, with one
 * document per socket as its provider does by default, rather than run @hocuspocus/provider:
 * the provider keeps a Y.Doc per client and applies every update, which would load this
 * process with work it does for no other server.
 */
let hocuspocus = false

/** Maps a y-websocket message to what goes on the wire for document `name`. */
const framing = name => {
  if (!hocuspocus) return msg => msg
  const encoder = encoding.createEncoder()
  encoding.writeVarString(encoder, name)
  const prefix = Buffer.from(encoding.toUint8Array(encoder))
  return msg => Buffer.concat([prefix, msg])
}

const HOCUSPOCUS_AUTH = Buffer.from([2, 0, 0]) // Auth, Token, '' (varString)

/** The y-websocket message inside a received frame (a view on `buf`). */
const unframe = buf => {
  if (!hocuspocus) return buf
  let pos = 0
  let len = 0
  let shift = 0
  for (;;) {
    const byte = buf[pos++]
    len += (byte & 0x7f) * 2 ** shift
    if (byte < 0x80) break
    shift += 7
  }
  const msg = buf.subarray(pos + len)
  if (msg[0] === MSG_SYNC_REPLY) msg[0] = MSG_SYNC // the same sync message for a client
  return msg
}

/** The document a URL names: its last path segment (y-websocket's layout). */
const roomOf = url => decodeURIComponent(new URL(url).pathname.split('/').pop())

/** Decodes the sync payload of `buf` (a sync message); returns a view on `buf`. */
const syncPayload = buf => {
  let pos = 2
  let len = 0
  let shift = 0
  for (;;) {
    const byte = buf[pos++]
    len += (byte & 0x7f) * 2 ** shift
    if (byte < 0x80) break
    shift += 7
  }
  return buf.subarray(pos, pos + len)
}

// -- markers -------------------------------------------------------------------------

const MAGIC = Buffer.from('~bm')
const MARKER_LEN = 13
const marker = (writer, seq) => `~bm${String(writer).padStart(2, '0')}${String(seq).padStart(8, '0')}`

/** Calls `found(writer, seq)` for every marker in `buf` from `start`. */
const scanMarkers = (buf, start, found) => {
  let i = buf.indexOf(MAGIC, start)
  while (i !== -1 && i + MARKER_LEN <= buf.length) {
    let writer = 0
    let seq = 0
    let ok = true
    for (let j = i + 3; j < i + MARKER_LEN; j++) {
      const d = buf[j] - 0x30
      if (d < 0 || d > 9) { ok = false; break }
      if (j < i + 5) writer = writer * 10 + d
      else seq = seq * 10 + d
    }
    if (ok) found(writer, seq)
    i = buf.indexOf(MAGIC, ok ? i + MARKER_LEN : i + 3)
  }
}

// -- a lean client -------------------------------------------------------------------

class Client {
  /**
   * @param {string} url
   * @param {{onUpdate?: (buf: Buffer) => void, onStep2?: (payload: Uint8Array) => void,
   *          onAwareness?: (buf: Buffer) => void,
   *          onClose?: (code: number, reason: string) => void}} handlers
   */
  constructor (url, handlers = {}) {
    this.url = url
    this.handlers = handlers
    /** Maps a y-websocket message to a frame of this client's socket. */
    this.frame = framing(roomOf(url))
    this.ws = null
    this.closed = false
    this.closeCode = 0
    this.closeReason = ''
    this._synced = null
  }

  /** Connects, sends sync step 1 and resolves once the server's step 2 has arrived. */
  connect (timeoutMs = 30000) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url, { perMessageDeflate: false, maxPayload: 1 << 30 })
      this.ws = ws
      const timer = setTimeout(() => reject(new Error(`no sync from ${this.url} in ${timeoutMs} ms`)), timeoutMs)
      this._synced = payload => { clearTimeout(timer); resolve(payload) }
      ws.on('open', () => {
        if (hocuspocus) ws.send(this.frame(HOCUSPOCUS_AUTH))
        ws.send(this.frame(STEP1_EMPTY))
      })
      ws.on('error', err => { clearTimeout(timer); reject(err) })
      ws.on('message', data => this._onMessage(data))
      ws.on('close', (code, reason) => {
        this.closed = true
        this.closeCode = code
        this.closeReason = String(reason)
        clearTimeout(timer)
        reject(new Error(`closed ${code} ${reason} before sync`))
        this.handlers.onClose?.(code, this.closeReason)
      })
    })
  }

  _onMessage (data) {
    const buf = unframe(data)
    if (buf[0] === MSG_AWARENESS) { this.handlers.onAwareness?.(buf); return }
    if (buf[0] !== MSG_SYNC) return // acks and the like: not measured here
    const kind = buf[1]
    if (kind === SYNC_UPDATE) {
      this.handlers.onUpdate?.(buf)
    } else if (kind === SYNC_STEP2) {
      const payload = syncPayload(buf)
      this.handlers.onStep2?.(payload)
      if (this._synced) { const done = this._synced; this._synced = null; done(payload) }
    } else if (kind === SYNC_STEP1) {
      // These clients hold nothing the server lacks: answer like a fresh provider.
      this.ws.send(this.frame(STEP2_EMPTY))
    }
  }

  /** Sends a frame made with `this.frame` (pre-framed, for the timed paths). */
  send (data) { this.ws.send(data) }

  /** Frames and sends a y-websocket message. */
  sendMessage (msg) { this.ws.send(this.frame(msg)) }

  close () {
    if (this.closed || this.ws === null) return Promise.resolve()
    return new Promise(resolve => {
      this.ws.once('close', () => resolve())
      this.ws.close(1000)
      setTimeout(() => { this.ws.terminate(); resolve() }, 2000).unref()
    })
  }
}

/** Connects `count` clients with at most `concurrency` handshakes in flight. */
const connectAll = async (makeClient, count, concurrency = 50) => {
  const clients = new Array(count)
  let next = 0
  const worker = async () => {
    while (next < count) {
      const i = next++
      clients[i] = makeClient(i)
      await clients[i].connect()
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
  return clients
}

const closeAll = clients => Promise.all(clients.filter(Boolean).map(c => c.close()))

// -- the server process, from /proc ----------------------------------------------------

let clockTicks = 0
const cpuSeconds = pids => {
  if (!clockTicks) clockTicks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100
  let ticks = 0
  for (const pid of pids) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    ticks += Number(fields[11]) + Number(fields[12]) // utime, stime
  }
  return ticks / clockTicks
}

/** CPU seconds every process on the machine spent busy (from /proc/stat). */
const machineBusySeconds = () => {
  if (!clockTicks) cpuSeconds([])
  const [user, nice, system, idle, iowait, irq, softirq, steal] = readFileSync('/proc/stat', 'utf8')
    .split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number)
  return (user + nice + system + irq + softirq + steal) / clockTicks
}

const rssKiB = pids => {
  let total = 0
  for (const pid of pids) {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    if (!match) throw new Error(`no VmRSS for pid ${pid}`)
    total += Number(match[1])
  }
  return total
}

const selfCpuSeconds = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6 }

// -- small helpers ---------------------------------------------------------------------

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))
const emit = obj => process.stdout.write(JSON.stringify(obj) + '\n')
const round = (x, digits = 2) => Number.isFinite(x) ? Number(x.toFixed(digits)) : null

const percentile = (sorted, q) => {
  if (sorted.length === 0) return NaN
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[idx]
}
const median = values => percentile(Float64Array.from(values).sort(), 0.5)

/** A deterministic PRNG (mulberry32), so every server gets the same edits. */
const prng = seed => () => {
  seed |= 0; seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

// -- update streams made with real yjs docs --------------------------------------------

/**
 * Writer `w`'s updates: each types its marker at the writer's cursor in its own view of
 * Y.Text "t", and every `RUN` updates the cursor moves to another place in that text, like
 * a person typing while others type elsewhere. (Two patterns were rejected because they
 * measure document size rather than the server: every writer inserting at the start makes
 * integration cost grow with the document in yjs and Yrs alike, and one endless run at the
 * end grows a single merged item whose re-encoding yjs pays for on every update.) The cursor
 * only ever lands between two markers: one that split an earlier marker would leave that
 * marker in two pieces in any update a server encodes from its document (a catch-up, a
 * sync) rather than relays as it came, and the observers, which find markers in the bytes,
 * would count its delivery as lost. The bytes do not depend on the room, so one stream
 * serves every fresh room.
 */
const RUN = 20

class WriterStream {
  constructor (writer) {
    this.writer = writer
    this.doc = new Y.Doc()
    this.doc.clientID = 100000 + writer
    this.text = this.doc.getText('t')
    this.random = prng(1000 + writer)
    this.cursor = 0
    this.messages = []
    this.doc.on('update', update => this.messages.push(syncMessage(SYNC_UPDATE, update)))
  }

  ensure (count) {
    while (this.messages.length < count) {
      const seq = this.messages.length
      if (seq % RUN === 0) {
        this.cursor = MARKER_LEN * Math.floor(this.random() * (this.text.length / MARKER_LEN + 1))
      }
      const piece = marker(this.writer, seq)
      this.text.insert(this.cursor, piece)
      this.cursor += piece.length
    }
    return this.messages
  }
}

const streams = []
const LAG_RESOLUTION_MS = 5

const writerStream = w => (streams[w] ??= new WriterStream(w))

// -- measuring a window ----------------------------------------------------------------

/** Latencies in milliseconds, in a typed array that doubles as it fills. */
class Samples {
  constructor () {
    this.values = new Float64Array(1 << 16)
    this.length = 0
  }

  push (ms) {
    if (this.length === this.values.length) {
      const bigger = new Float64Array(this.values.length * 2)
      bigger.set(this.values)
      this.values = bigger
    }
    this.values[this.length++] = ms
  }

  sorted () { return this.values.subarray(0, this.length).sort() }
}

/**
 * Sends on a schedule and measures its last `duration` seconds. Every millisecond or so
 * until `warmup + duration` seconds have passed, `sendDue(elapsedMs)` sends what the
 * clients' schedules have due by then (late ticks catch up). `span.start` and
 * `span.end` are set to the measured window's bounds before the first send, for the
 * receivers to tell measured samples; `atWindow()` runs as it opens. Returns the window's
 * length, the CPU seconds the server (`pids`), this generator and the rest of the machine
 * spent in it, and this generator's event-loop lag.
 */
const paced = async ({ pids, warmup, duration, span, sendDue, atWindow = () => {} }) => {
  const loopDelay = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS })
  const start = performance.now()
  span.start = start + warmup * 1000
  span.end = span.start + duration * 1000
  let at = null
  await new Promise(resolve => {
    const tick = () => {
      const now = performance.now()
      if (at === null && now >= span.start) {
        at = { server: cpuSeconds(pids), self: selfCpuSeconds(), machine: machineBusySeconds() }
        atWindow()
        loopDelay.enable()
      }
      if (now >= span.end) { resolve(); return }
      sendDue(now - start)
      setTimeout(tick, 1)
    }
    tick()
  })
  const seconds = (performance.now() - span.start) / 1000
  loopDelay.disable()
  const serverCpu = cpuSeconds(pids) - at.server
  const selfCpu = selfCpuSeconds() - at.self
  return {
    seconds,
    serverCpu,
    selfCpu,
    otherCpu: machineBusySeconds() - at.machine - serverCpu - selfCpu,
    // The histogram holds whole timer intervals: the lag is what exceeds the resolution.
    lagP99: Math.max(0, loopDelay.percentile(99) / 1e6 - LAG_RESOLUTION_MS),
    lagMax: Math.max(0, loopDelay.max / 1e6 - LAG_RESOLUTION_MS)
  }
}

/** What a paced scenario reports of its measured window: the percentiles of its latencies
 * (`sorted`), how long it waited for the last deliveries, and the CPU that the server and
 * this generator spent (`measured`, from `paced`). */
const windowFigures = (sorted, drainMs, measured) => ({
  p50_ms: round(percentile(sorted, 0.5), 3),
  p90_ms: round(percentile(sorted, 0.9), 3),
  p99_ms: round(percentile(sorted, 0.99), 3),
  max_ms: round(sorted.length ? sorted[sorted.length - 1] : NaN, 3),
  drain_ms: round(drainMs, 1),
  server_cpu_pct: round(100 * measured.serverCpu / measured.seconds, 1),
  loadgen_cpu_pct: round(100 * measured.selfCpu / measured.seconds, 1),
  loadgen_lag_p99_ms: round(measured.lagP99, 2)
})

/** Why this generator may have been the limit rather than the server. */
const generatorLimitsOf = ({ achievedRate, targetRate, lagP99, genCpu }) => {
  const limits = []
  if (achievedRate < 0.97 * targetRate) limits.push(`sent ${round(achievedRate, 0)}/s of ${targetRate}/s`)
  if (lagP99 > 20) limits.push(`its event-loop lag p99 ${round(lagP99, 1)} ms`)
  if (genCpu > 0.9) limits.push(`its CPU ${round(100 * genCpu, 0)}%`)
  return limits
}

/** Waits until the function handed to `setDone` is called, or `seconds` at most; returns
 * the milliseconds it waited. */
const waitAtMost = async (seconds, setDone) => {
  const started = performance.now()
  await new Promise(resolve => {
    setDone(resolve)
    setTimeout(resolve, seconds * 1000)
  })
  return performance.now() - started
}

// -- S1 / S2 / S3: fan-out with latency ------------------------------------------------

/**
 * Runs one fan-out round: `docs` rooms, each with `clients` clients of which the first
 * `writers` write; each room receives `rate` updates/s in total, spread over its writers.
 * Returns latency percentiles over the measured window and loss counts over the whole run.
 */
const fanout = async ({ urls, pids, room, docs = 1, clients, writers, rate, warmup, duration, drain }) => {
  const perWriter = rate / writers // updates/s of one writer
  const totalWriters = docs * writers
  const perStream = Math.ceil(perWriter * (warmup + duration)) + 2
  // Writer g (global index) = room d, local writer w; stream w is reused by every room.
  const messages = Array.from({ length: writers }, (_, w) => writerStream(w).ensure(perStream))
  const sendTimes = Array.from({ length: totalWriters }, () => new Float64Array(perStream))
  const sent = new Int32Array(totalWriters)

  const latencies = new Samples()
  let received = 0
  let duplicates = 0
  let unknown = 0
  const span = { start: Infinity, end: Infinity } // the measured window
  let expectedTotal = Infinity
  let drained = null
  const unexpectedCloses = []

  const makeClient = (index) => {
    const d = Math.floor(index / clients)
    const local = index % clients
    const url = urls[index % urls.length].replace('{room}', docs === 1 ? room : `${room}-${d}`)
    const seen = Array.from({ length: writers }, () => new Uint8Array(perStream))
    const onUpdate = buf => {
      const now = performance.now()
      scanMarkers(buf, 3, (w, seq) => {
        if (w === local) return // the reference server echoes a writer's own updates
        if (w >= writers || seq >= perStream || seq >= sent[d * writers + w]) { unknown++; return }
        if (seen[w][seq]) { duplicates++; return }
        seen[w][seq] = 1
        received++
        const t = sendTimes[d * writers + w][seq]
        if (t >= span.start && t < span.end) latencies.push(now - t)
      })
      if (drained !== null && received >= expectedTotal) drained()
    }
    const client = new Client(url, {
      onUpdate,
      onClose: (code, reason) => { if (!stopping) unexpectedCloses.push(`${code} ${reason}`.trim()) }
    })
    return client
  }

  let stopping = false
  const all = await connectAll(makeClient, docs * clients)
  const writerClients = []
  for (let d = 0; d < docs; d++) for (let w = 0; w < writers; w++) writerClients.push(all[d * clients + w])
  // The frames each room's writers send: the shared streams themselves for y-websocket;
  // with Hocuspocus every frame carries its room's name, so each room gets its own copies.
  const roomStreams = Array.from({ length: docs }, (_, d) => hocuspocus
    ? messages.map(stream => stream.slice(0, perStream).map(all[d * clients].frame))
    : messages)

  // Sending: each writer keeps to its schedule from the shared start.
  const phase = Array.from({ length: totalWriters }, (_, g) => (g / totalWriters))
  const perWriterPerMs = perWriter / 1000
  let sentAtWindow = 0
  const measured = await paced({
    pids,
    warmup,
    duration,
    span,
    atWindow: () => { sentAtWindow = sent.reduce((a, b) => a + b, 0) },
    sendDue: elapsedMs => {
      for (let g = 0; g < totalWriters; g++) {
        const due = Math.min(perStream, Math.floor(elapsedMs * perWriterPerMs + phase[g]))
        const client = writerClients[g]
        const stream = roomStreams[Math.floor(g / writers)][g % writers]
        const times = sendTimes[g]
        while (sent[g] < due && !client.closed) {
          times[sent[g]] = performance.now()
          client.send(stream[sent[g]])
          sent[g]++
        }
      }
    }
  })
  const { seconds: windowSeconds, lagP99, lagMax } = measured
  const totalSent = sent.reduce((a, b) => a + b, 0)
  const windowSent = totalSent - sentAtWindow

  // Every update must reach every other client of its room.
  expectedTotal = totalSent * (clients - 1)
  const drainMs = received < expectedTotal ? await waitAtMost(drain, done => { drained = done }) : 0
  stopping = true
  await closeAll(all)

  const sorted = latencies.sorted()
  const targetRate = rate * docs
  const achievedRate = windowSent / windowSeconds
  const genCpu = measured.selfCpu / windowSeconds
  const generatorLimits = generatorLimitsOf({ achievedRate, targetRate, lagP99, genCpu })
  return {
    docs,
    clients,
    writers,
    target_rate: targetRate,
    achieved_rate: round(achievedRate, 1),
    sent: totalSent,
    expected: expectedTotal,
    received,
    lost: expectedTotal - received,
    duplicates,
    unknown_markers: unknown,
    unexpected_closes: unexpectedCloses.slice(0, 5),
    unexpected_close_count: unexpectedCloses.length,
    samples: latencies.length,
    ...windowFigures(sorted, drainMs, measured),
    loadgen_lag_max_ms: round(lagMax, 2),
    // CPU that neither the server nor this generator used: other work on the machine.
    // (Clamped: /proc/stat and per-process counters tick apart, so it can dip below 0.)
    other_cpu_pct: round(Math.max(0, 100 * measured.otherCpu / windowSeconds), 1),
    generator_limited: generatorLimits.length > 0,
    generator_limits: generatorLimits,
    send_short: achievedRate < 0.97 * targetRate
  }
}

const scenarioS1 = async (opts) => {
  const r = await fanout({
    urls: opts.urls,
    pids: opts.pids,
    room: `${opts.prefix}-s1`,
    clients: opts.clients ?? 50,
    writers: opts.writers ?? 5,
    rate: (opts.writers ?? 5) * (opts.rate ?? 20),
    warmup: opts.warmup ?? 2,
    duration: opts.duration ?? 10,
    drain: opts.drain ?? 5
  })
  // Duplicates are reported, not failed: a CRDT update applies idempotently.
  const ok = r.lost === 0 && r.unexpected_close_count === 0 && r.samples > 0
  return {
    ok,
    error: ok ? undefined : describeFailure(r),
    figures: { p50_ms: r.p50_ms, p99_ms: r.p99_ms, server_cpu_pct: r.server_cpu_pct, lost: r.lost },
    details: r
  }
}

const describeFailure = r => {
  const parts = []
  if (r.lost) parts.push(`${r.lost} of ${r.expected} deliveries lost`)
  if (r.unexpected_close_count) parts.push(`${r.unexpected_close_count} sockets closed (${r.unexpected_closes[0]})`)
  if (!r.samples) parts.push('no latency samples')
  return parts.join('; ')
}

const scenarioS2 = async (opts) => {
  const steps = opts.steps ?? [500, 1000, 2000, 3000, 4000, 5000, 6000, 8000, 12000, 16000]
  const limit = opts.p99Limit ?? 100
  const results = []
  let sustained = 0
  let failed = null
  // A failed step is run once more (`retries`) in a fresh room: on a shared machine a
  // moment of other work can push one p99 over the limit. Both attempts are reported.
  const retries = opts.retries ?? 1
  for (const [i, rate] of steps.entries()) {
    let held = false
    let last = null
    for (let attempt = 0; attempt <= retries && !held; attempt++) {
      const r = await fanout({
        urls: opts.urls,
        pids: opts.pids,
        room: `${opts.prefix}-s2-${i}-${attempt}-${rate}`,
        clients: opts.clients ?? 20,
        writers: opts.writers ?? 5,
        rate,
        warmup: opts.warmup ?? 1,
        duration: opts.duration ?? 5,
        drain: opts.drain ?? 3
      })
      const reasons = []
      if (!(r.p99_ms <= limit)) reasons.push(`p99 ${r.p99_ms} ms > ${limit} ms`)
      if (r.lost) reasons.push(`${r.lost} of ${r.expected} deliveries lost`)
      if (r.unexpected_close_count) reasons.push(`${r.unexpected_close_count} sockets closed (${r.unexpected_closes[0]})`)
      // A step the generator could not even send was not tested: stop there.
      if (r.send_short) reasons.push(`load generator sent only ${r.achieved_rate}/s`)
      held = reasons.length === 0
      emit({ type: 'step', scenario: 'S2', rate, attempt, held, reasons, ...r })
      results.push({ rate, attempt, held, reasons, p50_ms: r.p50_ms, p99_ms: r.p99_ms, lost: r.lost,
        duplicates: r.duplicates, achieved_rate: r.achieved_rate, server_cpu_pct: r.server_cpu_pct,
        loadgen_cpu_pct: r.loadgen_cpu_pct, loadgen_lag_p99_ms: r.loadgen_lag_p99_ms,
        other_cpu_pct: r.other_cpu_pct, generator_limits: r.generator_limits })
      last = { rate, reasons, generator_limits: r.generator_limits }
    }
    if (!held) { failed = last; break }
    sustained = rate
  }
  // When the generator was short of CPU or time at the step that failed, the sustained
  // figure is a lower bound for the server.
  const generatorLimits = failed?.generator_limits ?? []
  return {
    ok: true,
    figures: {
      sustained_updates_per_s: sustained,
      generator_limited: generatorLimits.length > 0,
      // Every step held: the server's limit lies above the highest step tried.
      all_held: failed === null,
      stopped_by: failed === null
        ? `all steps held (highest ${steps[steps.length - 1]}/s)`
        : `${failed.rate}/s: ${failed.reasons.join('; ')}` +
          (generatorLimits.length ? ` [generator: ${generatorLimits.join(', ')}]` : '')
    },
    details: { steps: results, p99_limit_ms: limit }
  }
}

/** Many small rooms: every client of each room writes `rate` updates/s (a few people
 * typing in each of many reports). The figure is the server's CPU for that load, read
 * beside the latency it kept. */
const scenarioS3 = async (opts) => {
  const docs = opts.docs ?? 200
  const clients = opts.clients ?? 3
  const writers = opts.writers ?? clients
  const r = await fanout({
    urls: opts.urls,
    pids: opts.pids,
    room: `${opts.prefix}-s3`,
    docs,
    clients,
    writers,
    rate: writers * (opts.rate ?? 2), // updates/s per document
    warmup: opts.warmup ?? 2,
    duration: opts.duration ?? 10,
    drain: opts.drain ?? 5
  })
  // Duplicates are reported, not failed: a CRDT update applies idempotently.
  const ok = r.lost === 0 && r.unexpected_close_count === 0 && r.samples > 0
  return {
    ok,
    error: ok ? undefined : describeFailure(r),
    figures: { server_cpu_pct: r.server_cpu_pct, p50_ms: r.p50_ms, p99_ms: r.p99_ms, lost: r.lost },
    details: r
  }
}

// -- S8: presence fan-out ----------------------------------------------------------------

/** An awareness message (y-protocols) with one entry: client `clientID` at `clock`. */
const awarenessMessage = (clientID, clock, state) => {
  const inner = encoding.createEncoder()
  encoding.writeVarUint(inner, 1)
  encoding.writeVarUint(inner, clientID)
  encoding.writeVarUint(inner, clock)
  encoding.writeVarString(inner, state)
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MSG_AWARENESS)
  encoding.writeVarUint8Array(encoder, encoding.toUint8Array(inner))
  return Buffer.from(encoding.toUint8Array(encoder))
}

/** Calls `found(clientID, clock)` for every entry of the awareness message `buf`. */
const scanAwareness = (buf, found) => {
  let pos = 1
  const varUint = () => {
    let value = 0
    let shift = 0
    for (;;) {
      const byte = buf[pos++]
      value += (byte & 0x7f) * 2 ** shift
      if (byte < 0x80) return value
      shift += 7
    }
  }
  varUint() // the payload's length
  for (let n = varUint(); n > 0 && pos < buf.length; n--) {
    const clientID = varUint()
    const clock = varUint()
    const stateBytes = varUint() // read before `pos` is: `pos += varUint()` would not
    pos += stateBytes
    found(clientID, clock)
  }
}

const PRESENCE_ID = 300000

/** A cursor's state as an editor sets it: who, in which colour, and where (two Yjs relative
 * positions as JSON, as y-prosemirror's cursor plugin keeps them); about 225 bytes. */
const cursorState = (c, clock) => JSON.stringify({
  user: { name: `bench-${c}`, color: `#${(0x204060 + c * 0x010203).toString(16).slice(-6)}` },
  cursor: {
    anchor: { type: null, tname: 'body', item: { client: PRESENCE_ID + c, clock: clock * 3 }, assoc: 0 },
    head: { type: null, tname: 'body', item: { client: PRESENCE_ID + c, clock: clock * 3 + 1 }, assoc: 0 }
  }
})

/**
 * One document, `clients` clients, each moving its cursor `rate` times a second (a meeting
 * where everyone has the report open and a hand on the mouse). Every client sends its
 * awareness state with the next clock; awareness is last-writer-wins, so a server may hand
 * an observer a later state in place of an earlier one. The latency of a move, for each
 * observer, is therefore the time until that move or a later one of the same client
 * arrived: a server that holds moves back to send them together pays for the wait here.
 * Every observer must end with every other client's last state.
 */
const scenarioS8 = async (opts) => {
  const urls = opts.urls
  const clients = opts.clients ?? 50
  const rate = opts.rate ?? 5
  const warmup = opts.warmup ?? 2
  const duration = opts.duration ?? 10
  const drain = opts.drain ?? 3
  const room = `${opts.prefix}-s8`
  const perClient = Math.ceil(rate * (warmup + duration)) + 2
  const sendTimes = Array.from({ length: clients }, () => new Float64Array(perClient + 1))
  const sent = new Int32Array(clients) // client c's last clock sent (clocks start at 1)
  // seen[o * clients + c]: the last clock of client c that observer o has received.
  const seen = new Int32Array(clients * clients)
  const latencies = new Samples()
  let entries = 0
  let frames = 0
  let stale = 0
  const span = { start: Infinity, end: Infinity } // the measured window
  let drained = null
  let behind = 0 // observer/client pairs whose observer lacks the client's last state
  let stopping = false
  const unexpectedCloses = []

  const makeClient = (o) => new Client(urls[o % urls.length].replace('{room}', room), {
    onAwareness: buf => {
      const now = performance.now()
      frames++
      scanAwareness(buf, (clientID, clock) => {
        const c = clientID - PRESENCE_ID
        if (c === o || c < 0 || c >= clients) return // its own state, echoed by some servers
        entries++
        const at = o * clients + c
        const last = seen[at]
        if (clock <= last) { stale++; return }
        seen[at] = Math.min(clock, sent[c])
        const times = sendTimes[c]
        for (let k = last + 1; k <= seen[at]; k++) {
          const t = times[k]
          if (t >= span.start && t < span.end) latencies.push(now - t)
        }
        if (drained !== null && last < sent[c] && seen[at] === sent[c] && --behind === 0) drained()
      })
    },
    onClose: (code, reason) => { if (!stopping) unexpectedCloses.push(`${code} ${reason}`.trim()) }
  })

  const all = await connectAll(makeClient, clients)
  const perMs = rate / 1000
  let sentAtWindow = 0
  const measured = await paced({
    pids: opts.pids,
    warmup,
    duration,
    span,
    atWindow: () => { sentAtWindow = sent.reduce((a, b) => a + b, 0) },
    sendDue: elapsedMs => {
      for (let c = 0; c < clients; c++) {
        const due = Math.min(perClient, Math.floor(elapsedMs * perMs + c / clients) + 1)
        const client = all[c]
        while (sent[c] < due && !client.closed) {
          const clock = sent[c] + 1
          const message = client.frame(awarenessMessage(PRESENCE_ID + c, clock, cursorState(c, clock)))
          sendTimes[c][clock] = performance.now()
          sent[c] = clock
          client.send(message)
        }
      }
    }
  })
  const { seconds: windowSeconds, lagP99 } = measured
  const genCpu = measured.selfCpu / windowSeconds
  const windowSent = sent.reduce((a, b) => a + b, 0) - sentAtWindow

  const countBehind = () => {
    let n = 0
    for (let o = 0; o < clients; o++) for (let c = 0; c < clients; c++) if (c !== o && seen[o * clients + c] < sent[c]) n++
    return n
  }
  behind = countBehind()
  const drainMs = behind > 0 ? await waitAtMost(drain, done => { drained = done }) : 0
  behind = countBehind()
  stopping = true
  await closeAll(all)

  const sorted = latencies.sorted()
  const achievedRate = windowSent / windowSeconds
  // Moves sent in the window: each is one sample per observer once all have caught up.
  let movesInWindow = 0
  for (const times of sendTimes) for (const t of times) if (t >= span.start && t < span.end) movesInWindow++
  const generatorLimits = generatorLimitsOf({ achievedRate, targetRate: rate * clients, lagP99, genCpu })
  const details = {
    clients,
    rate,
    achieved_rate: round(achievedRate, 1),
    moves_in_window: movesInWindow,
    samples: latencies.length,
    entries_received: entries,
    frames_received: frames,
    stale_entries: stale,
    behind_after_drain: behind,
    unexpected_closes: unexpectedCloses.slice(0, 5),
    unexpected_close_count: unexpectedCloses.length,
    ...windowFigures(sorted, drainMs, measured),
    generator_limits: generatorLimits
  }
  const problems = []
  if (behind) problems.push(`${behind} observer/client pairs lack the last state`)
  if (unexpectedCloses.length) problems.push(`${unexpectedCloses.length} sockets closed (${unexpectedCloses[0]})`)
  if (!latencies.length) problems.push('no latency samples')
  return {
    ok: problems.length === 0,
    error: problems.length ? problems.join('; ') : undefined,
    figures: { server_cpu_pct: details.server_cpu_pct, p50_ms: details.p50_ms, p99_ms: details.p99_ms },
    details
  }
}

// -- S9: live panels -----------------------------------------------------------------------

/** The server's HTTP origin, from a room URL (`ws://host:port/ws/reports/{room}`). */
const httpOrigin = url => {
  const u = new URL(url.replace('{room}', 'x'))
  return `${u.protocol === 'wss:' ? 'https' : 'http'}://${u.host}`
}

/** A JSON request with the keep-alive `agent`; resolves to `{ status, body }`. */
const requestJson = (agent, origin, method, path, payload) => new Promise((resolve, reject) => {
  const body = payload === undefined ? undefined : Buffer.from(JSON.stringify(payload))
  const headers = body ? { 'content-type': 'application/json', 'content-length': body.length } : {}
  const req = http.request(`${origin}${path}`, { method, agent, headers }, res => {
    const chunks = []
    res.on('data', chunk => chunks.push(chunk))
    res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }))
    res.on('error', reject)
  })
  req.on('error', reject)
  req.end(body)
})

/**
 * A Server-Sent Events stream (`GET path`): `onEvent(kind, data)` for each event, `ready`
 * resolves once the server says its subscriptions are in place (the `: subscribed`
 * comment), `close()` ends it.
 */
const openEventStream = (origin, path, onEvent, onEnd) => new Promise((resolve, reject) => {
  const req = http.get(`${origin}${path}`, { headers: { accept: 'text/event-stream' } }, res => {
    if (res.statusCode !== 200) {
      reject(new Error(`stream answered ${res.statusCode}`))
      res.resume()
      return
    }
    res.setEncoding('utf8')
    let buffered = ''
    let kind = 'message'
    let data = []
    let subscribed = false
    res.on('data', chunk => {
      buffered += chunk
      let at
      while ((at = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, at)
        buffered = buffered.slice(at + 1)
        if (line === '') {
          if (data.length) onEvent(kind, data.join('\n'))
          kind = 'message'
          data = []
        } else if (line.startsWith('event: ')) {
          kind = line.slice(7)
        } else if (line.startsWith('data: ')) {
          data.push(line.slice(6))
        } else if (line === ': subscribed' && !subscribed) {
          subscribed = true
          resolve({ close: () => req.destroy() })
        }
      }
    })
    res.on('end', () => onEnd('ended'))
    res.on('error', error => onEnd(error.message))
  })
  req.on('error', error => { reject(error); onEnd(error.message) })
})

/**
 * A report shown in a meeting while its runs train: `runs` runs each log a row of
 * `metrics` metrics `rate` times a second through the Runs API, as the Python SDK's
 * uploader sends them (one request in flight per run; rows that come due meanwhile go in
 * the next), and `viewers` people have the report open, each browser following every run
 * on the live stream (Server-Sent Events). The latency of a row is from when it came due
 * to when a viewer's stream carried it, over every row and every viewer. Fails unless
 * every viewer saw every row, with no `gap` event and no failed request.
 *
 * With `longRun` steps (0 by default), one more run is given that many steps of `metrics`
 * metrics before the measurement, and while it goes on a panel reads that run's history
 * (`max_points=1000`, as the report's charts ask) every `readEvery` seconds, one read at a
 * time: what a long training run's chart, opened meanwhile, costs everyone else.
 */
const scenarioS9 = async (opts) => {
  const origins = opts.urls.map(httpOrigin)
  const origin = origins[0] // where the rows are posted; viewers are spread over all
  const runs = opts.runs ?? 10
  const viewers = opts.viewers ?? 50
  const rate = opts.rate ?? 10
  const metrics = opts.metrics ?? 4
  const warmup = opts.warmup ?? 2
  const duration = opts.duration ?? 10
  const drain = opts.drain ?? 3
  const agent = new http.Agent({ keepAlive: true, maxSockets: runs + 2 })
  const project = `${opts.prefix}-s9`
  const runIds = Array.from({ length: runs }, (_, r) => `${opts.prefix}-s9-r${r}`)
  for (const id of runIds) {
    const made = await requestJson(agent, origin, 'POST', `/api/projects/${project}/runs`, { id, name: id })
    if (made.status !== 201) throw new Error(`creating run ${id} answered ${made.status}: ${made.body}`)
  }
  const perRun = Math.ceil(rate * (warmup + duration)) + 2
  const dueTimes = Array.from({ length: runs }, () => new Float64Array(perRun + 1))
  const due = new Int32Array(runs) // run r's last step due (steps start at 1)
  const posted = new Int32Array(runs) // ... and last step sent
  const inFlight = new Uint8Array(runs)
  const requests = { sent: 0, failed: [] }
  // seen[v * runs + r]: how many rows of run r viewer v has received.
  const seen = new Int32Array(viewers * runs)
  const latencies = new Samples()
  const gaps = []
  const ended = []
  let events = 0
  let rowsSeen = 0
  let stopping = false
  const span = { start: Infinity, end: Infinity }
  let drained = null
  let behind = 0
  const byId = new Map(runIds.map((id, r) => [id, r]))
  const longRun = opts.longRun ?? 0
  const readEvery = opts.readEvery ?? 0.5
  const longId = `${opts.prefix}-s9-long`
  const metricNames = Array.from({ length: metrics }, (_, k) => `metric/${k}`)
  if (longRun > 0) {
    const made = await requestJson(agent, origin, 'POST', `/api/projects/${project}/runs`, { id: longId })
    if (made.status !== 201) throw new Error(`creating run ${longId} answered ${made.status}: ${made.body}`)
    for (let first = 0; first < longRun; first += 5000) {
      const rows = []
      for (let step = first; step < Math.min(longRun, first + 5000); step++) rows.push({ step, metrics: Object.fromEntries(metricNames.map((m, k) => [m, Math.sin(step / 500 + k)])) })
      const stored = await requestJson(agent, origin, 'POST', `/api/runs/${longId}/history`, { rows })
      if (stored.status !== 200) throw new Error(`filling run ${longId} answered ${stored.status}: ${stored.body}`)
    }
  }
  const reads = []
  let reading = null

  const streamPath = `/api/runs/stream?runs=${runIds.join(',')}`
  const streams = []
  for (let v = 0; v < viewers; v++) {
    streams.push(await openEventStream(origins[v % origins.length], streamPath, (kind, data) => {
      const now = performance.now()
      events++
      const message = JSON.parse(data)
      if (kind === 'gap') { gaps.push(message); return }
      const r = byId.get(message.run_id)
      if (r === undefined) return
      const at = v * runs + r
      for (const row of message.rows) {
        rowsSeen++
        seen[at]++
        const t = dueTimes[r][row.step]
        if (t >= span.start && t < span.end) latencies.push(now - t)
      }
      if (drained !== null && seen[at] === due[r] && --behind === 0) drained()
    }, why => { if (!stopping) ended.push(why) }))
  }

  const row = step => {
    const m = {}
    for (let k = 0; k < metrics; k++) m[`metric/${k}`] = Math.sin(step / 50 + k) + k
    return { step, metrics: m }
  }
  const post = r => {
    if (inFlight[r] || posted[r] === due[r]) return
    const rows = []
    for (let step = posted[r] + 1; step <= due[r]; step++) rows.push(row(step))
    posted[r] = due[r]
    inFlight[r] = 1
    requests.sent++
    requestJson(agent, origin, 'POST', `/api/runs/${runIds[r]}/history`, { rows })
      .then(({ status, body }) => { if (status !== 200) requests.failed.push(`${status} ${body.slice(0, 200)}`) })
      .catch(error => requests.failed.push(error.message))
      .finally(() => { inFlight[r] = 0; post(r) })
  }

  const perMs = rate / 1000
  const measured = await paced({
    pids: opts.pids,
    warmup,
    duration,
    span,
    sendDue: elapsedMs => {
      const now = performance.now()
      if (longRun > 0 && reading === null && (!reads.length || now - reads.at(-1).at >= readEvery * 1000)) {
        const at = now
        const path = `/api/runs/${longId}/history?max_points=1000&keys=${metricNames.map(encodeURIComponent).join(',')}`
        reading = requestJson(agent, origin, 'GET', path)
          .then(({ status, body }) => {
            if (status !== 200) requests.failed.push(`history read ${status} ${body.slice(0, 200)}`)
            reads.push({ at, ms: performance.now() - at })
          })
          .catch(error => requests.failed.push(error.message))
          .finally(() => { reading = null })
      }
      for (let r = 0; r < runs; r++) {
        const step = Math.min(perRun, Math.floor(elapsedMs * perMs + r / runs) + 1)
        while (due[r] < step) dueTimes[r][++due[r]] = now
        post(r)
      }
    }
  })
  const { seconds: windowSeconds, lagP99 } = measured
  const genCpu = measured.selfCpu / windowSeconds

  const countBehind = () => {
    let n = 0
    for (let v = 0; v < viewers; v++) for (let r = 0; r < runs; r++) if (seen[v * runs + r] < due[r]) n++
    return n
  }
  behind = countBehind()
  const drainMs = behind > 0 ? await waitAtMost(drain, done => { drained = done }) : 0
  behind = countBehind()
  await reading
  stopping = true
  for (const stream of streams) stream.close()
  agent.destroy()

  const sorted = latencies.sorted()
  let rowsInWindow = 0
  for (const times of dueTimes) for (const t of times) if (t >= span.start && t < span.end) rowsInWindow++
  const achievedRate = rowsInWindow / windowSeconds
  const rowsDue = due.reduce((a, b) => a + b, 0)
  const details = {
    runs,
    viewers,
    rate,
    metrics,
    rows_due: rowsDue,
    rows_in_window: rowsInWindow,
    requests: requests.sent,
    rows_per_request: round(rowsDue / requests.sent, 2),
    samples: latencies.length,
    events_received: events,
    rows_received: rowsSeen,
    gaps: gaps.length,
    behind_after_drain: behind,
    ...windowFigures(sorted, drainMs, measured),
    generator_limits: generatorLimitsOf({ achievedRate, targetRate: rate * runs, lagP99, genCpu }),
    long_run_steps: longRun,
    long_run_reads: reads.length,
    long_run_read_ms: reads.length ? round(percentile(reads.map(r => r.ms).sort((a, b) => a - b), 0.5), 1) : null
  }
  const problems = []
  if (requests.failed.length) problems.push(`${requests.failed.length} history requests failed (${requests.failed[0]})`)
  if (gaps.length) problems.push(`${gaps.length} gap events`)
  if (ended.length) problems.push(`${ended.length} streams ended (${ended[0]})`)
  if (behind) problems.push(`${behind} viewer/run pairs lack rows`)
  if (!latencies.length) problems.push('no latency samples')
  return {
    ok: problems.length === 0,
    error: problems.length ? problems.join('; ') : undefined,
    figures: { server_cpu_pct: details.server_cpu_pct, p50_ms: details.p50_ms, p99_ms: details.p99_ms },
    details
  }
}

// -- S10: a report opened in a meeting ---------------------------------------------------

/**
 * A report is shown in a meeting: everyone opens it at the same moment. Its panel grid
 * plots `runs` finished runs of `steps` steps of `metrics` metrics each (filled before
 * the measurement, through the Runs API), and opening it reads every run's history as the
 * grid does (`keys=...&max_points=1000`, one request per run, at most six at a time per
 * viewer as a browser allows per host). Each round, `viewers` people open it at once
 * (spread over the instances); first one viewer alone. The figure is the time until a
 * viewer has every chart's points: alone, and at once the median viewer and the last.
 * Fails unless every answer is complete (every metric, at most 1,000 points, the steps of
 * the run).
 */
const scenarioS10 = async (opts) => {
  const origins = opts.urls.map(httpOrigin)
  const runs = opts.runs ?? 20
  const steps = opts.steps ?? 20000
  const metrics = opts.metrics ?? 4
  const viewers = opts.viewers ?? 10
  const rounds = opts.rounds ?? 3
  const maxPoints = 1000
  const filler = new http.Agent({ keepAlive: true, maxSockets: 4 })
  const project = `${opts.prefix}-s10`
  const runIds = Array.from({ length: runs }, (_, r) => `${opts.prefix}-s10-r${r}`)
  const keys = Array.from({ length: metrics }, (_, k) => `metric/${k}`)
  const fillStarted = performance.now()
  await Promise.all(runIds.map(async (id, r) => {
    const made = await requestJson(filler, origins[0], 'POST', `/api/projects/${project}/runs`, { id, name: id })
    if (made.status !== 201) throw new Error(`creating run ${id} answered ${made.status}: ${made.body}`)
    for (let first = 0; first < steps; first += 5000) {
      const rows = []
      for (let step = first; step < Math.min(steps, first + 5000); step++) {
        rows.push({ step, metrics: Object.fromEntries(keys.map((m, k) => [m, Math.exp(-step / steps * (k + 1)) + Math.sin(step + r) / 20])) })
      }
      const stored = await requestJson(filler, origins[0], 'POST', `/api/runs/${id}/history`, { rows })
      if (stored.status !== 200) throw new Error(`filling run ${id} answered ${stored.status}: ${stored.body}`)
    }
  }))
  filler.destroy()
  const fillSeconds = (performance.now() - fillStarted) / 1000

  const problems = []
  const query = `keys=${keys.map(encodeURIComponent).join(',')}&max_points=${maxPoints}`
  /** One viewer opens the grid: resolves to [ms until every run's history arrived, bytes]. */
  const open = async (origin) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 6 })
    const started = performance.now()
    let bytes = 0
    await Promise.all(runIds.map(async id => {
      const { status, body } = await requestJson(agent, origin, 'GET', `/api/runs/${id}/history?${query}`)
      bytes += body.length
      if (status !== 200) { problems.push(`history of ${id} answered ${status}`); return }
      const { series } = JSON.parse(body)
      for (const key of keys) {
        const s = series[key]
        const complete = s && s.steps.length > 2 && s.steps.length <= maxPoints && s.steps[0] === 0 && s.steps.at(-1) === steps - 1 && s.total_points === steps
        if (!complete) { problems.push(`history of ${id} lacks ${key}`); return }
      }
    }))
    const ms = performance.now() - started
    agent.destroy()
    return [ms, bytes]
  }
  const alone = []
  const medians = []
  const lasts = []
  let bytesPerViewer = 0
  for (let round = 0; round < rounds; round++) {
    const [ms, bytes] = await open(origins[0])
    alone.push(ms)
    bytesPerViewer = bytes
    const times = (await Promise.all(Array.from({ length: viewers }, (_, v) => open(origins[v % origins.length])))).map(([t]) => t)
    medians.push(median(times))
    lasts.push(Math.max(...times))
  }
  const figures = {
    alone_ms: round(median(alone), 0),
    p50_ms: round(median(medians), 0),
    last_ms: round(median(lasts), 0)
  }
  return {
    ok: problems.length === 0,
    error: problems.length ? `${problems.length} incomplete answers (${problems[0]})` : undefined,
    figures,
    details: {
      runs,
      steps_per_run: steps,
      metrics,
      viewers,
      rounds,
      fill_seconds: round(fillSeconds, 1),
      mb_per_viewer: round(bytesPerViewer / 1e6, 2),
      alone_rounds_ms: alone.map(x => round(x, 0)),
      p50_rounds_ms: medians.map(x => round(x, 0)),
      last_rounds_ms: lasts.map(x => round(x, 0)),
      ...figures
    }
  }
}

// -- S4: memory per open document ------------------------------------------------------

/** A ~1 KB document: `edits` (20) inserts of 50 characters at random places, as one
 * update message, and its text. */
const smallDoc = (clientID, random, edits) => {
  const doc = new Y.Doc()
  doc.clientID = clientID
  const text = doc.getText('t')
  for (let k = 0; k < edits; k++) {
    let s = ''
    while (s.length < 50) s += String.fromCharCode(97 + Math.floor(random() * 26))
    text.insert(Math.floor(random() * (text.length + 1)), s)
  }
  const made = { message: syncMessage(SYNC_UPDATE, Y.encodeStateAsUpdate(doc)), text: text.toString() }
  doc.destroy()
  return made
}

const smallDocMessage = (i, random, edits) => smallDoc(200000 + i, random, edits).message

/** Opens a room, writes its content, and resolves once the server has answered a sync
 * step 1 sent after the content (both servers answer in order, and coreport answers only
 * once everything before it is durable). */
const openDocWithContent = async (url, content, minBytes) => {
  const client = new Client(url)
  await client.connect()
  if (minBytes > 0) client.sendMessage(content)
  const reply = new Promise((resolve, reject) => {
    client.handlers.onStep2 = payload => resolve(payload)
    client.handlers.onClose = (code, reason) => reject(new Error(`closed ${code} ${reason}`))
  })
  client.sendMessage(STEP1_EMPTY)
  const payload = await reply
  if (payload.length < minBytes) throw new Error(`${url}: state is ${payload.length} bytes, wrote more than ${minBytes}`)
  return client
}

const steadyRss = async (pids, settleMs) => {
  await sleep(settleMs)
  const samples = []
  for (let i = 0; i < 5; i++) { samples.push(rssKiB(pids)); await sleep(200) }
  return median(samples)
}

const scenarioS4 = async (opts) => {
  const n = opts.docs ?? 1000
  const warm = opts.warmDocs ?? 20
  const settleMs = (opts.settle ?? 3) * 1000
  const random = prng(4)
  // `edits: 0` opens empty documents: what a room and its socket cost without content.
  const edits = opts.edits ?? 20
  const contents = Array.from({ length: n + warm }, (_, i) => smallDocMessage(i, random, edits))
  const minBytes = edits * 50
  const open = async (from, count) => {
    const clients = new Array(count)
    let next = 0
    const worker = async () => {
      while (next < count) {
        const i = next++
        const url = opts.urls[(from + i) % opts.urls.length].replace('{room}', `${opts.prefix}-s4-${from + i}`)
        clients[i] = await openDocWithContent(url, contents[from + i], minBytes)
      }
    }
    await Promise.all(Array.from({ length: Math.min(50, count) }, worker))
    return clients
  }
  const started = rssKiB(opts.pids)
  // Warm-up documents load the code paths and caches every document shares.
  const warmClients = await open(0, warm)
  const baseline = await steadyRss(opts.pids, settleMs)
  const t0 = performance.now()
  const clients = await open(warm, n)
  const openSeconds = (performance.now() - t0) / 1000
  const loaded = await steadyRss(opts.pids, settleMs)
  const closedEarly = clients.filter(c => c.closed).length
  await closeAll([...clients, ...warmClients])
  const perDoc = (loaded - baseline) / n
  const ok = closedEarly === 0
  return {
    ok,
    error: ok ? undefined : `${closedEarly} documents' sockets closed while open`,
    figures: { kib_per_doc: round(perDoc, 2) },
    details: {
      docs: n,
      doc_update_bytes: round(contents.reduce((a, c) => a + c.length, 0) / contents.length, 0),
      rss_start_kib: started,
      rss_baseline_kib: baseline,
      rss_loaded_kib: loaded,
      open_seconds: round(openSeconds, 2)
    }
  }
}

// -- S5: sync time of a document built from many edits -----------------------------------

/** `count` small edits by one client: inserts of 1-8 characters at random places and some
 * deletions, like typing and fixing; the last edit inserts an end marker. */
const editStream = (count, seed) => {
  const random = prng(seed)
  const doc = new Y.Doc()
  doc.clientID = 300000
  const text = doc.getText('t')
  const messages = []
  doc.on('update', update => messages.push(syncMessage(SYNC_UPDATE, update)))
  let lastAt = 0
  for (let k = 0; k < count - 1; k++) {
    const len = text.length
    if (len > 40 && random() < 0.2) {
      const at = Math.floor(random() * (len - 4))
      text.delete(at, 1 + Math.floor(random() * 4))
    } else {
      let s = ''
      const n = 1 + Math.floor(random() * 8)
      for (let j = 0; j < n; j++) s += String.fromCharCode(97 + Math.floor(random() * 26))
      // Mostly where the previous edit was, like typing; sometimes elsewhere.
      const at = random() < 0.7 ? Math.min(len, lastAt) : Math.floor(random() * (len + 1))
      text.insert(at, s)
      lastAt = at + s.length
    }
  }
  text.insert(text.length, marker(99, count))
  return { messages, text: text.toString(), stateBytes: Y.encodeStateAsUpdate(doc).length }
}

const scenarioS5 = async (opts) => {
  const edits = opts.edits ?? 20000
  const syncs = opts.syncs ?? 5
  const url = opts.urls[0].replace('{room}', `${opts.prefix}-s5`)
  const built = editStream(edits, 5)

  // Build: a writer sends every edit; an observer sees the end marker relayed.
  const writer = new Client(url)
  let buildDone = null
  const sawEnd = new Promise(resolve => { buildDone = resolve })
  const observer = new Client(opts.urls[opts.urls.length - 1].replace('{room}', `${opts.prefix}-s5`), {
    onUpdate: buf => scanMarkers(buf, 3, (w, seq) => { if (w === 99 && seq === edits) buildDone() })
  })
  await writer.connect()
  await observer.connect()
  const frames = built.messages.map(writer.frame)
  const t0 = performance.now()
  for (const m of frames) writer.send(m)
  const timeout = sleep((opts.buildTimeout ?? 300) * 1000).then(() => { throw new Error(`the ${edits} edits were not all relayed in time`) })
  await Promise.race([sawEnd, timeout])
  const buildSeconds = (performance.now() - t0) / 1000

  // Timed: connect a new client, send step 1, receive the step 2 reply, apply it. Two
  // figures: until the whole reply has arrived (the server's part: accepting the socket,
  // answering the step 1, sending the state), and until the client has applied it too.
  // The apply is the same work whichever server sent the state (the same document: the
  // text is checked below, the state's size is in the details), so it adds the same to
  // each. It is also this process's heaviest and noisiest step: yjs allocates a document
  // of many thousand structs, and V8 collects the previous sync's garbage when it likes, in the
  // server's reply time if that is long enough, in the apply if not. The first `warm`
  // syncs are not counted: they mostly time this process's JIT compiling yjs's decoder.
  const warm = opts.warmSyncs ?? 1
  const times = []
  const stateTimes = []
  let stateBytes = 0
  for (let i = 0; i < warm + syncs; i++) {
    const doc = new Y.Doc()
    let arrived = 0
    const started = performance.now()
    const client = new Client(url, {
      onStep2: payload => { arrived = performance.now(); Y.applyUpdate(doc, payload) }
    })
    const payload = await client.connect(120000)
    const elapsed = performance.now() - started
    stateBytes = payload.length
    await client.close()
    const got = doc.getText('t').toString()
    if (got !== built.text) throw new Error(`sync ${i}: the new client's text differs (${got.length} vs ${built.text.length} characters)`)
    if (i >= warm) {
      times.push(elapsed)
      stateTimes.push(arrived - started)
    }
    doc.destroy()
  }
  await closeAll([writer, observer])
  return {
    ok: true,
    figures: {
      state_ms: round(median(stateTimes), 2),
      sync_ms: round(median(times), 2),
      build_s: round(buildSeconds, 3)
    },
    details: {
      edits,
      text_chars: built.text.length,
      client_state_bytes: built.stateBytes,
      server_state_bytes: stateBytes,
      state_ms_all: stateTimes.map(t => round(t, 2)),
      sync_ms_all: times.map(t => round(t, 2))
    }
  }
}

// -- S6: many sockets on one instance ----------------------------------------------------

/**
 * `sockets` clients spread round-robin over `docs` rooms connect (at most 50 handshakes in
 * flight); each counts as synced once the server's sync step 2 has arrived. They stay idle
 * for `hold` seconds, then the first client of every room sends one update, which must reach
 * every other socket of its room: a socket that was accepted but no longer served fails it.
 * Memory is the server's RSS while holding them, less its RSS before the first connect.
 */
const scenarioS6 = async (opts) => {
  const sockets = opts.sockets ?? 1000
  const docs = Math.min(opts.docs ?? 100, sockets)
  const settleMs = (opts.settle ?? 2) * 1000
  const holdMs = (opts.hold ?? 10) * 1000
  const drainMs = (opts.drain ?? 10) * 1000
  const roomOfIndex = i => i % docs
  // One update per room, made before the clock starts; its marker names the room.
  const updates = Array.from({ length: docs }, (_, d) => {
    const doc = new Y.Doc()
    doc.clientID = 400000 + d
    doc.getText('t').insert(0, marker(98, d))
    const message = syncMessage(SYNC_UPDATE, Y.encodeStateAsUpdate(doc))
    doc.destroy()
    return message
  })
  const sendTimes = new Float64Array(docs)
  const latencies = []
  let received = 0
  let duplicates = 0
  let stopping = false
  let drained = null
  const expected = sockets - docs // every socket but each room's sender
  const closes = []
  const makeClient = i => {
    const d = roomOfIndex(i)
    let got = false
    const url = opts.urls[i % opts.urls.length].replace('{room}', `${opts.prefix}-s6-${d}`)
    return new Client(url, {
      onUpdate: buf => {
        const now = performance.now()
        scanMarkers(buf, 3, (w, seq) => {
          if (w !== 98 || seq !== d || i < docs) return // i < docs: the room's sender
          if (got) { duplicates++; return }
          got = true
          received++
          latencies.push(now - sendTimes[d])
        })
        if (drained !== null && received >= expected) drained()
      },
      onClose: (code, reason) => { if (!stopping) closes.push(`${code} ${reason}`.trim()) }
    })
  }
  const baseline = await steadyRss(opts.pids, settleMs)
  const t0 = performance.now()
  const clients = await connectAll(makeClient, sockets)
  const connectSeconds = (performance.now() - t0) / 1000
  await sleep(holdMs)
  const held = await steadyRss(opts.pids, 0)
  const closedWhileHeld = closes.length
  const frames = updates.map((m, d) => clients[d].frame(m))
  for (let d = 0; d < docs; d++) {
    sendTimes[d] = performance.now()
    clients[d].send(frames[d])
  }
  if (received < expected) {
    await new Promise(resolve => { drained = resolve; setTimeout(resolve, drainMs) })
  }
  stopping = true
  await closeAll(clients)
  const sorted = Float64Array.from(latencies).sort()
  const lost = expected - received
  const problems = []
  if (closedWhileHeld) problems.push(`${closedWhileHeld} sockets closed while held (${closes[0]})`)
  if (lost) problems.push(`${lost} of ${expected} sockets never got their room's update`)
  return {
    ok: problems.length === 0,
    error: problems.join('; ') || undefined,
    figures: {
      synced: clients.length,
      connect_s: round(connectSeconds, 2),
      rss_mib: round(held / 1024, 1),
      kib_per_socket: round((held - baseline) / sockets, 1),
      relay_p99_ms: round(percentile(sorted, 0.99), 2),
      lost
    },
    details: {
      sockets,
      docs,
      hold_s: holdMs / 1000,
      rss_baseline_kib: baseline,
      rss_held_kib: held,
      expected,
      received,
      duplicates,
      relay_p50_ms: round(percentile(sorted, 0.5), 2),
      relay_max_ms: round(sorted.length ? sorted[sorted.length - 1] : NaN, 2)
    }
  }
}

// -- S7: documents cycling through load and unload -----------------------------------------

/** The number of documents a coreport instance holds, from its Prometheus text. */
const loadedRooms = async metricsUrl => {
  if (!metricsUrl) return null
  const text = await (await fetch(metricsUrl)).text()
  const match = /^coreport_loaded_rooms (\S+)$/m.exec(text)
  return match ? Number(match[1]) : null
}

/** Least-squares slope of `ys` over `xs`. */
const slope = (xs, ys) => {
  const n = xs.length
  const mx = xs.reduce((a, b) => a + b, 0) / n
  const my = ys.reduce((a, b) => a + b, 0) / n
  let num = 0
  let den = 0
  for (let i = 0; i < n; i++) { num += (xs[i] - mx) * (ys[i] - my); den += (xs[i] - mx) ** 2 }
  return den ? num / den : NaN
}

/**
 * `docs` documents, `batch` at a time: each is opened by a fresh client, given ~1 KB of
 * content, confirmed (the server answered a sync step 1 sent after the content; coreport
 * answers once the content is durable) and closed, so the server loads it and, once its
 * idle time has passed, unloads it. The server's RSS is sampled every `sampleEvery`
 * documents; growth is the least-squares slope over the samples after the first
 * `warmDocs` (which fill caches and allocator pools once). At the end the generator waits
 * for the server to unload everything (`coreport_loaded_rooms` on `metricsUrl`, when given)
 * and reopens `check` documents spread over the run, whose text must be what was written.
 */
const scenarioS7 = async (opts) => {
  const total = opts.docs ?? 10000
  const batch = opts.batch ?? 100
  const sampleEvery = opts.sampleEvery ?? 1000
  const warmDocs = opts.warmDocs ?? 1000
  const edits = opts.edits ?? 20
  const check = opts.check ?? 20
  const unloadWaitMs = (opts.unloadWait ?? 30) * 1000
  const urlOf = i => opts.urls[i % opts.urls.length].replace('{room}', `${opts.prefix}-s7-${i}`)
  const made = i => smallDoc(500000 + i, prng(7000 + i), edits)
  const sampleRss = async () => {
    const readings = []
    for (let k = 0; k < 3; k++) { readings.push(rssKiB(opts.pids)); await sleep(100) }
    return median(readings)
  }
  const samples = [{ docs: 0, rss_kib: await sampleRss(), loaded: await loadedRooms(opts.metricsUrl), s: 0 }]
  const t0 = performance.now()
  for (let from = 0; from < total; from += batch) {
    const count = Math.min(batch, total - from)
    const clients = await Promise.all(Array.from({ length: count }, (_, k) =>
      openDocWithContent(urlOf(from + k), made(from + k).message, edits * 50)))
    await closeAll(clients)
    const done = from + count
    if (done % sampleEvery === 0 || done === total) {
      samples.push({
        docs: done,
        rss_kib: await sampleRss(),
        loaded: await loadedRooms(opts.metricsUrl),
        s: round((performance.now() - t0) / 1000, 2)
      })
    }
  }
  const cycleSeconds = (performance.now() - t0) / 1000
  // Wait for the server to unload what it still holds, then read its memory at rest.
  let loadedEnd = await loadedRooms(opts.metricsUrl)
  const waitUntil = performance.now() + unloadWaitMs
  while (loadedEnd !== null && loadedEnd > 0 && performance.now() < waitUntil) {
    await sleep(250)
    loadedEnd = await loadedRooms(opts.metricsUrl)
  }
  const rssEnd = await steadyRss(opts.pids, loadedEnd === null ? unloadWaitMs / 10 : 1000)
  // Reopen documents from across the run: what was written must come back.
  const wrong = []
  for (let k = 0; k < Math.min(check, total); k++) {
    const i = Math.floor(k * total / Math.min(check, total))
    const doc = new Y.Doc()
    const client = new Client(urlOf(i), { onStep2: payload => Y.applyUpdate(doc, payload) })
    await client.connect()
    await client.close()
    if (doc.getText('t').toString() !== made(i).text) wrong.push(i)
    doc.destroy()
  }
  const counted = samples.filter(x => x.docs > warmDocs)
  const xs = counted.map(x => x.docs)
  const ys = counted.map(x => x.rss_kib)
  const growth = counted.length >= 2 ? slope(xs, ys) * 1000 : NaN
  const problems = []
  if (loadedEnd) problems.push(`${loadedEnd} documents still loaded ${unloadWaitMs / 1000} s after the last close`)
  if (wrong.length) problems.push(`${wrong.length} of ${check} reopened documents differ (first: #${wrong[0]})`)
  if (counted.length < 2) problems.push('fewer than 2 samples after the warm-up: raise docs or lower sampleEvery')
  return {
    ok: problems.length === 0,
    error: problems.join('; ') || undefined,
    figures: {
      growth_kib_per_1000: round(growth, 0),
      rss_end_mib: round(rssEnd / 1024, 1),
      docs_per_s: round(total / cycleSeconds, 0)
    },
    details: {
      docs: total,
      batch,
      warm_docs: warmDocs,
      rss_after_warmup_kib: samples.find(x => x.docs >= warmDocs)?.rss_kib ?? null,
      rss_end_kib: rssEnd,
      loaded_end: loadedEnd,
      reopened: Math.min(check, total),
      samples
    }
  }
}

// -- main ------------------------------------------------------------------------------

const SCENARIOS = {
  S1: scenarioS1,
  S2: scenarioS2,
  S3: scenarioS3,
  S4: scenarioS4,
  S5: scenarioS5,
  S6: scenarioS6,
  S7: scenarioS7,
  S8: scenarioS8,
  S9: scenarioS9,
  S10: scenarioS10
}

const main = async () => {
  const { values } = parseArgs({
    options: {
      scenario: { type: 'string' },
      url: { type: 'string', multiple: true },
      pid: { type: 'string', multiple: true },
      prefix: { type: 'string', default: `bench${Date.now().toString(36)}` },
      protocol: { type: 'string', default: 'y-websocket' },
      // Scenario parameters, as JSON: {"duration": 10, "steps": [500, 1000], ...}
      params: { type: 'string', default: '{}' }
    }
  })
  const run = SCENARIOS[values.scenario]
  const protocols = ['y-websocket', 'hocuspocus']
  if (!run || !values.url?.length || !values.pid?.length || !protocols.includes(values.protocol)) {
    process.stderr.write(`usage: loadgen.mjs --scenario ${Object.keys(SCENARIOS).join('|')} --url URL_WITH_{room} --pid PID [--protocol ${protocols.join('|')}] [--params JSON]\n`)
    process.exit(2)
  }
  hocuspocus = values.protocol === 'hocuspocus'
  const opts = {
    ...JSON.parse(values.params),
    urls: values.url,
    pids: values.pid.map(Number),
    prefix: values.prefix
  }
  const started = performance.now()
  let result
  try {
    result = await run(opts)
  } catch (err) {
    result = { ok: false, error: String(err?.stack ?? err).split('\n')[0] }
  }
  emit({ type: 'result', scenario: values.scenario, seconds: round((performance.now() - started) / 1000, 2), ...result })
  process.exit(0)
}

main()
