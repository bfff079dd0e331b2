// Two official y-websocket providers edit the same report concurrently, online and
// with one of them offline, and end with the same document.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setImmediate as nextTurn } from 'node:timers/promises'
import * as prng from 'lib0/prng'

import { connected, destroyAll, uniqueReportId, untilConverged, waitFor } from './clients.mjs'
import { panel, panelGrid, paragraph, randomEdit, reportContent } from './report.mjs'

const OPTIONS = { timeout: 60_000 }

/** Both clients edit the same spots in the same turn: neither has seen the other's edit. */
const clashingEdits = (a, b) => {
  for (const [client, tag] of [[a, 'A'], [b, 'B']]) {
    client.doc.transact(() => {
      client.doc.getText('title').insert(0, `<${tag}>`, { bold: true })
      client.doc.getMap('panels').set('shared', panel({ type: 'line', title: `by ${tag}` }))
      client.doc.getXmlFragment('body').insert(0, [paragraph(`from ${tag}`), panelGrid(`grid${tag}`)])
    })
  }
}

test('two providers editing text, map and xml concurrently converge', OPTIONS, async () => {
  const room = uniqueReportId('converge')
  const a = await connected(room)
  const b = await connected(room)
  try {
    const genA = prng.create(1)
    const genB = prng.create(2)
    for (let round = 0; round < 40; round++) {
      for (let i = prng.int31(genA, 1, 3); i > 0; i--) randomEdit(a.doc, genA, 'a')
      for (let i = prng.int31(genB, 1, 3); i > 0; i--) randomEdit(b.doc, genB, 'b')
      // Let some of the traffic through between rounds, so edits interleave with relays.
      if (round % 3 === 0) await nextTurn()
    }
    clashingEdits(a, b)
    const content = JSON.parse(await untilConverged([a, b], reportContent))
    const title = content.title.map((chunk) => chunk.insert).join('')
    assert.match(title, /<A>/)
    assert.match(title, /<B>/)
    assert.ok(['by A', 'by B'].includes(content.panels.shared.title))
    const names = content.body.children.map((node) => node.attributes.gridId).filter(Boolean)
    assert.ok(names.includes('gridA') && names.includes('gridB'), `grids in body: ${names}`)
  } finally {
    destroyAll([a, b])
  }
})

test('a provider that edits offline converges after it reconnects', OPTIONS, async () => {
  const room = uniqueReportId('offline')
  const clients = []
  const join = async () => {
    const client = await connected(room)
    clients.push(client)
    return client
  }
  try {
    const [a, b, c] = [await join(), await join(), await join()]
    a.doc.getXmlFragment('body').insert(0, [paragraph('before the outage')])
    await untilConverged([a, b, c], reportContent)

    a.provider.disconnect()
    assert.equal(a.provider.wsconnected, false)
    const genA = prng.create(3)
    const genB = prng.create(4)
    for (let round = 0; round < 30; round++) {
      randomEdit(a.doc, genA, 'a')
      randomEdit(b.doc, genB, 'b')
    }
    a.doc.getText('title').insert(0, '[offline A]')
    b.doc.getText('title').insert(0, '[online B]')
    // b's edits go through the server to c while a is away and sees none of them.
    const online = await untilConverged([b, c], reportContent)
    assert.match(online, /online B/)
    assert.doesNotMatch(online, /offline A/)
    assert.doesNotMatch(reportContent(a.doc), /online B/)

    a.provider.connect()
    await a.synced()
    const content = await untilConverged([a, b, c], reportContent)
    assert.match(content, /offline A/)
    assert.match(content, /online B/)

    // The server merged both sides: a newcomer reads the same document from it alone.
    const d = await join()
    assert.equal(reportContent(d.doc), content)
  } finally {
    destroyAll(clients)
  }
})
