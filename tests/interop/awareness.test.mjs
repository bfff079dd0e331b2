// Presence through the server: a late joiner sees everyone present, and a user who
// leaves, politely or not, disappears for the others.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

import { connected, destroyAll, uniqueReportId, untilConverged, withTimeout } from './clients.mjs'
import { paragraph, reportContent } from './report.mjs'

const OPTIONS = { timeout: 60_000 }
const PRESENT = fileURLToPath(new URL('./present.mjs', import.meta.url))

const names = (client) => [...client.peers().values()].map((state) => state.user?.name).sort()

/** Resolve with the first awareness 'change' of `client` that removes `clientID`. */
const removal = (client, clientID) =>
  withTimeout(
    new Promise((resolve) => {
      const listener = (change, origin) => {
        if (change.removed.includes(clientID)) {
          client.awareness.off('change', listener)
          resolve({ change, origin })
        }
      }
      client.awareness.on('change', listener)
    }),
    `${clientID} to leave the awareness of ${client.clientID}`
  )

test('a late joiner gets the whole document and everyone present', OPTIONS, async () => {
  const room = uniqueReportId('late')
  const clients = []
  try {
    const alice = await connected(room, { user: { name: 'alice', color: '#f00' } })
    clients.push(alice)
    const bob = await connected(room, { user: { name: 'bob', color: '#00f' } })
    clients.push(bob)
    alice.doc.transact(() => {
      alice.doc.getText('title').insert(0, 'Quarterly results')
      alice.doc.getXmlFragment('body').insert(0, [paragraph('written before carol came', { bold: true })])
    })
    bob.doc.getMap('panels').set('loss', 'bob was here')
    const content = await untilConverged([alice, bob], reportContent)
    await alice.awarenessUntil(() => names(alice).includes('bob'), 'alice to see bob')

    const carol = await connected(room, { user: { name: 'carol' } })
    clients.push(carol)
    // The sync handshake alone brings the whole document: no further update needed.
    assert.equal(reportContent(carol.doc), content)
    await carol.awarenessUntil(
      () => names(carol).join() === 'alice,bob',
      'carol to see alice and bob'
    )
    assert.deepEqual(carol.peers().get(alice.clientID), { user: { name: 'alice', color: '#f00' } })
    assert.deepEqual(carol.peers().get(bob.clientID), { user: { name: 'bob', color: '#00f' } })
    for (const early of [alice, bob]) {
      await early.awarenessUntil(() => names(early).includes('carol'), `${early.clientID} to see carol`)
    }
  } finally {
    destroyAll(clients)
  }
})

test('a changed awareness field reaches the others', OPTIONS, async () => {
  const room = uniqueReportId('cursor')
  const a = await connected(room, { user: { name: 'a' } })
  const b = await connected(room, { user: { name: 'b' } })
  try {
    a.awareness.setLocalStateField('cursor', { anchor: 3, head: 7 })
    await b.awarenessUntil(
      () => b.peers().get(a.clientID)?.cursor?.head === 7,
      'b to see the cursor of a'
    )
    assert.deepEqual(b.peers().get(a.clientID), { user: { name: 'a' }, cursor: { anchor: 3, head: 7 } })
  } finally {
    destroyAll([a, b])
  }
})

for (const leave of ['disconnect', 'destroy']) {
  test(`awareness is removed for the others when a provider calls ${leave}()`, OPTIONS, async () => {
    const room = uniqueReportId(leave)
    const stay = await connected(room, { user: { name: 'stay' } })
    const go = await connected(room, { user: { name: 'go' } })
    const clients = [stay, go]
    try {
      await stay.awarenessUntil(() => stay.peers().has(go.clientID), 'stay to see go')
      const left = removal(stay, go.clientID)
      go.provider[leave]()
      const { change } = await left
      assert.deepEqual(change.removed, [go.clientID])
      assert.equal(stay.peers().has(go.clientID), false)
    } finally {
      destroyAll(clients)
    }
  })
}

test('awareness is removed for the others when a client process dies', OPTIONS, async () => {
  const room = uniqueReportId('killed')
  const stay = await connected(room, { user: { name: 'stay' } })
  const child = spawn(process.execPath, [PRESENT, room, 'doomed'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: process.env
  })
  try {
    const lines = createInterface({ input: child.stdout })
    const [line] = await withTimeout(once(lines, 'line'), 'the child client to join')
    const { clientID } = JSON.parse(line)
    await stay.awarenessUntil(
      (states) => states.get(clientID)?.user?.name === 'doomed',
      'stay to see the child client'
    )
    // SIGKILL: the child sends no awareness goodbye, only the server can report it gone.
    const left = removal(stay, clientID)
    child.kill('SIGKILL')
    const { change } = await left
    assert.deepEqual(change.removed, [clientID])
    assert.equal(stay.peers().size, 0)
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    destroyAll([stay])
  }
})
