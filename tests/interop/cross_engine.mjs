// One side of the cross-engine tests (tests/interop/test_node_clients.py): the Node
// `yjs` engine writes a report that a pycrdt (Yrs) client then reads, or reads one
// that pycrdt wrote.
//
// usage: node cross_engine.mjs write ROOM   writes a known report, waits until a fresh
//                                           client gets it from the server, prints it
//        node cross_engine.mjs read ROOM    prints the report the server holds
// The report is printed as one line of JSON: reportContent() of report.mjs.

import { connected, destroyAll, untilConverged } from './clients.mjs'
import { panel, panelGrid, paragraph, reportContent } from './report.mjs'

const write = (doc) => {
  doc.transact(() => {
    const title = doc.getText('title')
    title.insert(0, 'Loss curves, ')
    title.insert(title.length, 'final', { bold: true })
    title.insert(title.length, ' 🚀 edition', { italic: true, color: '#ff0000' })
    doc.getMap('panels').set('p1', panel({ type: 'line', title: 'loss', metrics: ['loss', 'val/loss'], smoothing: 0.6, count: 3 }))
    doc.getMap('panels').set('flag', true)
    doc.getXmlFragment('body').insert(0, [
      paragraph('Introduction, in bold', { bold: true, align: 'center' }),
      panelGrid('grid-1'),
      paragraph('ünïcødé and emoji 🎉')
    ])
  })
}

const [command, room] = process.argv.slice(2)
if (!['write', 'read'].includes(command) || !room) {
  console.error('usage: node cross_engine.mjs write|read ROOM')
  process.exit(2)
}
const clients = []
try {
  const client = await connected(room)
  clients.push(client)
  if (command === 'write') {
    write(client.doc)
    // The server holds the report once a client that wrote nothing receives it whole.
    const witness = await connected(room)
    clients.push(witness)
    await untilConverged(clients, reportContent)
  }
  process.stdout.write(reportContent(client.doc) + '\n')
} finally {
  destroyAll(clients)
}
