// The comments document of report X is room `X/comments`: it syncs like the report
// document, and the two never see each other's content or presence.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as Y from 'yjs'

import { canonicalJSON, connected, destroyAll, uniqueReportId, untilConverged } from './clients.mjs'
import { reportContent } from './report.mjs'

const OPTIONS = { timeout: 60_000 }

const commentsContent = (doc) => canonicalJSON(doc.getMap('threads').toJSON())

/** A thread as DESIGN.md §2 describes it, with one comment. */
const addThread = (doc, threadId, author, text) => {
  doc.transact(() => {
    const thread = new Y.Map()
    doc.getMap('threads').set(threadId, thread)
    thread.set('anchor', { kind: 'report', quote: '' })
    thread.set('resolved', false)
    thread.set('created_by', author)
    const comments = new Y.Array()
    thread.set('comments', comments)
    const comment = new Y.Map()
    comments.push([comment])
    comment.set('id', `${threadId}-1`)
    comment.set('author', author)
    comment.set('text', text)
  })
}

test('the comments doc syncs independently of the report doc', OPTIONS, async () => {
  const reportId = uniqueReportId('comments')
  const commentsRoom = `${reportId}/comments`
  const clients = []
  const join = async (room, name) => {
    const client = await connected(room, { user: { name } })
    clients.push(client)
    return client
  }
  try {
    const editor = await join(reportId, 'editor')
    const readerA = await join(commentsRoom, 'reader-a')
    const readerB = await join(commentsRoom, 'reader-b')

    editor.doc.getText('title').insert(0, 'the report')
    addThread(readerA.doc, 't1', 'reader-a', 'first!')
    addThread(readerB.doc, 't2', 'reader-b', 'concurrent thread')
    const threads = JSON.parse(await untilConverged([readerA, readerB], commentsContent))
    assert.deepEqual(Object.keys(threads).sort(), ['t1', 't2'])
    assert.equal(threads.t2.comments[0].text, 'concurrent thread')

    // A reply appended concurrently with another reply: both stay, in one order for all.
    const replyTo = (client, text) => {
      const reply = new Y.Map()
      client.doc.getMap('threads').get('t1').get('comments').push([reply])
      reply.set('text', text)
    }
    replyTo(readerA, 'reply from a')
    replyTo(readerB, 'reply from b')
    const replies = JSON.parse(await untilConverged([readerA, readerB], commentsContent)).t1.comments
    assert.deepEqual(replies.map((c) => c.text).slice(1).sort(), ['reply from a', 'reply from b'])

    // Late joiners of each room get that room's document, and only it.
    const lateReport = await join(reportId, 'late-editor')
    const lateComments = await join(commentsRoom, 'late-reader')
    await untilConverged([editor, lateReport], reportContent)
    await untilConverged([readerA, lateComments], commentsContent)
    assert.equal(lateReport.doc.getText('title').toString(), 'the report')
    assert.equal(lateReport.doc.getMap('threads').size, 0)
    assert.equal(lateComments.doc.getText('title').toString(), '')
    assert.deepEqual(Object.keys(lateComments.doc.getMap('threads').toJSON()).sort(), ['t1', 't2'])
    for (const commenter of [readerA, readerB]) {
      assert.equal(lateReport.doc.store.clients.has(commenter.clientID), false)
    }

    // Presence is per room too: the comments late joiner sees the commenters, not the editors.
    await lateComments.awarenessUntil(
      () => lateComments.peers().size === 2,
      'the comments late joiner to see both readers'
    )
    const seen = [...lateComments.peers().values()].map((s) => s.user.name).sort()
    assert.deepEqual(seen, ['reader-a', 'reader-b'])
    await lateReport.awarenessUntil(() => lateReport.peers().size === 1, 'the report late joiner to see the editor')
    assert.deepEqual([...lateReport.peers().values()].map((s) => s.user.name), ['editor'])
  } finally {
    destroyAll(clients)
  }
})
