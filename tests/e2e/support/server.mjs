// Starts a real `coreport serve` on a free port with its own data directory,
// and stops it (and removes the directory) afterwards.

import { execFile, spawn } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

const run = promisify(execFile)

function withoutNoAuth(env) {
  const copy = { ...env }
  delete copy.COREPORT_INSECURE_NO_AUTH
  return copy
}

const READY = /^coreport listening on (http:\/\/\S+?)\/?$/

/**
 * @param {{ bin: string, startTimeoutMs?: number, auth?: boolean }} options
 * @returns {Promise<{ url: string, dataDir: string, output: () => string, stop: () => Promise<void> }>}
 */
export async function startServer({ bin, startTimeoutMs = 30_000, auth = false }) {
  const dataDir = await mkdtemp(join(tmpdir(), 'coreport-e2e-'))
  const child = spawn(bin, ['serve', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir], {
    // Most tests are not about sign-in: they run without auth, as tests/support/server.py does.
    env: auth ? withoutNoAuth(process.env) : { ...process.env, COREPORT_INSECURE_NO_AUTH: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines = []
  const keep = (stream) =>
    createInterface({ input: stream }).on('line', (line) => {
      lines.push(line)
      if (lines.length > 2000) lines.shift()
    })
  keep(child.stderr)
  const stdout = keep(child.stdout)
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  // If the test process dies without calling stop(), take the server with it.
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)

  const url = await new Promise((resolve, reject) => {
    let settled = false
    const timer = setTimeout(() => fail(new Error(`coreport did not start within ${startTimeoutMs} ms`)), startTimeoutMs)
    const fail = (error) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      child.kill('SIGKILL')
      reject(new Error(`${error.message}\n--- server output ---\n${lines.join('\n')}`))
    }
    stdout.on('line', (line) => {
      const match = READY.exec(line.trim())
      if (match && !settled) {
        settled = true
        clearTimeout(timer)
        resolve(match[1])
      }
    })
    child.once('error', fail)
    void exited.then(({ code, signal }) => fail(new Error(`coreport exited early (code ${code}, signal ${signal})`)))
  })

  return {
    url,
    dataDir,
    /** Create a user with the CLI against this server's data; returns their API key. */
    async addUser(name) {
      const { stdout } = await run(bin, ['users', 'add', name, '--data-dir', dataDir])
      return stdout.trim().split('\n').pop().trim()
    },
    output: () => lines.join('\n'),
    async stop() {
      process.off('exit', killOnExit)
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
        await exited
        clearTimeout(timer)
      }
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}
