/** How the history drawer names versions and who took them. Pure. */

import type { VersionInfo, VersionKind } from '../api'

export const KIND_LABELS: Record<VersionKind, string> = {
  auto: 'Auto-saved',
  named: 'Named',
  restore: 'Restored',
}

/** "Version 3" or "Version 3 · “before review”". */
export function versionTitle(version: Pick<VersionInfo, 'number' | 'name'>): string {
  return version.name ? `Version ${version.number} · “${version.name}”` : `Version ${version.number}`
}

/** "version 3", for sentences. */
export function versionShort(version: Pick<VersionInfo, 'number'>): string {
  return `version ${version.number}`
}

/** Who took a version: "you", a known name, or "someone" (the server took auto versions by itself). */
export function authorName(createdBy: string | null, me: string | null, nameOf: (userId: string) => string | undefined): string {
  if (createdBy === null) return 'coreport'
  if (createdBy === me) return 'you'
  return nameOf(createdBy) ?? 'someone'
}

/** "Changes from version 1 to version 4" or "… to the current report" (`to` null). */
export function comparisonTitle(from: Pick<VersionInfo, 'number'>, to: Pick<VersionInfo, 'number'> | null): string {
  return `Changes from ${versionShort(from)} to ${to ? versionShort(to) : 'the current report'}`
}

/**
 * What "Compare" starts with: the selected (else the newest) version against
 * the report as it is now. `null` when there is no version yet.
 */
export function defaultComparison(versions: readonly VersionInfo[], selected: string | null): { from: string; to: string | null } | null {
  const from = versions.find((v) => v.id === selected) ?? versions[0]
  return from ? { from: from.id, to: null } : null
}
