// People on a server with auth on: users made with the CLI against the server's data
// directory, and browser contexts signed in with their keys (session cookie).

import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)

/**
 * `coreport users add NAME [--admin] --data-dir DIR`; returns the user's API key
 * (the last line the command prints).
 */
export async function addUser(bin, dataDir, name, { admin = false } = {}) {
  const args = ['users', 'add', name, ...(admin ? ['--admin'] : []), '--data-dir', dataDir]
  const { stdout } = await run(bin, args)
  return stdout.trim().split('\n').pop().trim()
}

/**
 * Sign a browser context in with an API key, as the sign-in page does
 * (`POST /api/session`): the context's pages then carry the session cookie.
 */
export async function signIn(context, baseUrl, key) {
  const response = await context.request.post(new URL('/api/session', baseUrl).href, { data: { key } })
  if (response.status() !== 201) throw new Error(`sign-in failed: ${response.status()} ${await response.text()}`)
  return response.json()
}
