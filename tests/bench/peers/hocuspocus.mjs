#!/usr/bin/env node
/**
 * The Hocuspocus peer of the benchmark: `@hocuspocus/server` in memory, no extensions
 * (so no persistence, no logger, no throttle), default configuration otherwise.
 *
 *   node tests/bench/peers/hocuspocus.mjs [--port 0] [--host 127.0.0.1]
 *
 * Prints `hocuspocus running at ws://HOST:PORT` once it listens (port 0 picks a free one).
 * Hocuspocus ignores the URL path: the document name travels inside every message (see
 * `--protocol hocuspocus` in loadgen.mjs). SIGTERM stops it (Hocuspocus's own handler).
 */

import { parseArgs } from 'node:util'

import { Server } from '@hocuspocus/server'

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' }
  }
})

const server = new Server({
  port: Number(values.port),
  address: values.host,
  quiet: true,
  stopOnSignals: true
})
await server.listen()
process.stdout.write(`hocuspocus running at ws://${values.host}:${server.address.port}\n`)
