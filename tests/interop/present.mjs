// A user who joins a report and stays until the process is killed: the awareness tests
// kill it with SIGKILL so that it cannot say goodbye, and only the server can tell the
// others it left.
//
// usage: node present.mjs ROOM USER_NAME
// prints one JSON line {"clientID": N} once synced with its awareness state sent.

import { connected } from './clients.mjs'

const [room, name] = process.argv.slice(2)
if (!room || !name) {
  console.error('usage: node present.mjs ROOM USER_NAME')
  process.exit(2)
}
const client = await connected(room, { user: { name } })
process.stdout.write(JSON.stringify({ clientID: client.clientID }) + '\n')
