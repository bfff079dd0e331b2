import { describe, expect, it } from 'vitest'

import { describeClose } from '../src/closeCodes'
import { describeConnection, type ConnectionFacts } from '../src/connectionStatus'

const base: ConnectionFacts = {
  socket: 'connecting',
  synced: false,
  online: true,
  lastClose: null,
  stopped: false,
  pending: false,
}

describe('describeConnection', () => {
  it('starts as connecting', () => {
    expect(describeConnection(base)).toMatchObject({ kind: 'connecting', label: 'Connecting…' })
  })

  it('is connected only once synced', () => {
    expect(describeConnection({ ...base, socket: 'connected' })).toMatchObject({ kind: 'connecting', label: 'Syncing…' })
    expect(describeConnection({ ...base, socket: 'connected', synced: true })).toMatchObject({
      kind: 'connected',
      label: 'Connected',
    })
  })

  it('says offline, and whether local edits are pending', () => {
    const offline = { ...base, socket: 'disconnected' as const, online: false }
    expect(describeConnection(offline)).toMatchObject({ kind: 'offline', label: 'Offline' })
    const pending = describeConnection({ ...offline, pending: true })
    expect(pending).toMatchObject({ kind: 'offline', label: 'Offline · local edits pending' })
    expect(pending.detail).toContain('kept on this device')
  })

  it('shows the reason of a transient close while reconnecting', () => {
    const view = describeConnection({ ...base, lastClose: describeClose(1012) })
    expect(view).toMatchObject({ kind: 'offline', label: 'Reconnecting…' })
    expect(view.detail).toContain('server restarting')
    expect(view.detail).toContain('1012')
  })

  it('shows the close reason when the server refused us for good', () => {
    const view = describeConnection({
      ...base,
      socket: 'disconnected',
      lastClose: describeClose(4410),
      stopped: true,
      pending: true,
    })
    expect(view).toMatchObject({ kind: 'stopped', label: 'Access revoked' })
    expect(view.detail).toContain('4410')
    expect(view.detail).toContain('Local edits pending')
  })

  it('lets a stop win over a stale connected socket state', () => {
    const view = describeConnection({
      ...base,
      socket: 'connected',
      synced: true,
      lastClose: describeClose(4401),
      stopped: true,
    })
    expect(view).toMatchObject({ kind: 'stopped', label: 'Sign in required' })
  })
})
