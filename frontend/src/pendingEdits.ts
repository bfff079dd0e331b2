/**
 * Whether this device holds report edits the server has not received.
 *
 * A local edit made while the socket is not synced is pending until the next
 * sync (the standard protocol exchanges both sides' missing updates on
 * connect). The flag is remembered per report so that after a reload while
 * offline, the indicator still says edits are waiting; the edits themselves
 * are in IndexedDB.
 */

const KEY_PREFIX = 'coreport.pending.'

export class PendingEdits {
  private value: boolean
  private readonly listeners = new Set<(pending: boolean) => void>()

  constructor(
    private readonly storage: Storage,
    private readonly reportId: string,
  ) {
    this.value = storage.getItem(KEY_PREFIX + reportId) === '1'
  }

  get pending(): boolean {
    return this.value
  }

  /** A local edit happened; `synced` is whether the socket was synced at the time. */
  localEdit(synced: boolean): void {
    if (!synced) this.set(true)
  }

  /** The socket finished a sync: everything local has been sent. */
  synced(): void {
    this.set(false)
  }

  onChange(listener: (pending: boolean) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private set(pending: boolean): void {
    if (pending === this.value) return
    this.value = pending
    if (pending) this.storage.setItem(KEY_PREFIX + this.reportId, '1')
    else this.storage.removeItem(KEY_PREFIX + this.reportId)
    for (const listener of this.listeners) listener(pending)
  }
}
