// Runs, their history and media, logged through the REST API as the SDK does, and
// reports made with the Report API: the data that panel tests draw.

import assert from 'node:assert/strict'
import { deflateSync } from 'node:zlib'

/** A JSON call to the server; fails the test on any error answer. */
export async function rest(baseUrl, method, path, body) {
  return restAs(baseUrl)(method, path, body)
}

/**
 * `rest` bound to one server, sending `key` (an API key or link token) as a Bearer
 * token when one is given: `(method, path, body) => answer`.
 */
export function restAs(baseUrl, key) {
  const headers = { 'content-type': 'application/json', ...(key === undefined ? {} : { authorization: `Bearer ${key}` }) }
  return async (method, path, body) => {
    const response = await fetch(new URL(path, baseUrl), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await response.text()
    assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`)
    return text ? JSON.parse(text) : null
  }
}

/**
 * Create a run in `project` and log `rows` ({step, metrics}) to it; returns the run.
 * @param {{ name: string, config?: object, summary?: object, rows?: {step: number, metrics: object}[] }} run
 */
export async function logRun(baseUrl, project, { name, config = {}, summary = {}, rows = [] }) {
  const created = await rest(baseUrl, 'POST', `/api/projects/${project}/runs`, { name, config, summary })
  if (rows.length) await rest(baseUrl, 'POST', `/api/runs/${created.id}/history`, { rows })
  return created
}

/** Log one image (`data`: PNG bytes) under `key` at `step`. */
export async function logImage(baseUrl, runId, { key, step, data, caption }) {
  return rest(baseUrl, 'POST', `/api/runs/${runId}/media`, {
    key,
    step,
    content_type: 'image/png',
    caption,
    data: Buffer.from(data).toString('base64'),
  })
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})

function crc32(bytes) {
  let c = 0xffffffff
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

function chunk(type, data) {
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data])
  const out = Buffer.alloc(8 + data.length + 4)
  out.writeUInt32BE(data.length, 0)
  body.copy(out, 4)
  out.writeUInt32BE(crc32(body), 8 + data.length)
  return out
}

/** A `size`×`size` PNG of one colour ([r, g, b]), a real image any browser decodes. */
export function solidPng([r, g, b], size = 8) {
  const header = Buffer.alloc(13)
  header.writeUInt32BE(size, 0)
  header.writeUInt32BE(size, 4)
  header[8] = 8 // bit depth
  header[9] = 2 // truecolour
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: size }, () => [r, g, b]).flat())])
  const pixels = deflateSync(Buffer.concat(Array.from({ length: size }, () => row)))
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', pixels), chunk('IEND', Buffer.alloc(0))])
}
