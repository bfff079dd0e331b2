import { describe, expect, it } from 'vitest'

import { exportFileName } from '../src/views/exportMenu'
import { authorName, comparisonTitle, defaultComparison, versionTitle } from '../src/views/versionInfo'
import type { VersionInfo } from '../src/api'

describe('export file names', () => {
  it('come from the title, without characters file systems refuse', () => {
    expect(exportFileName('MNIST sweep', 'markdown')).toBe('MNIST sweep.md')
    expect(exportFileName('a/b: c?  d', 'html')).toBe('a-b- c- d.html')
    expect(exportFileName('  ...  ', 'markdown')).toBe('report.md')
    expect(exportFileName('', 'html')).toBe('report.html')
    expect(exportFileName('x'.repeat(200), 'markdown')).toBe(`${'x'.repeat(80)}.md`)
  })
})

describe('version names', () => {
  const version = (id: string, number: number, name: string | null = null): VersionInfo => ({
    id,
    number,
    kind: name ? 'named' : 'auto',
    name,
    title: 'T',
    created_by: null,
    created_at: '2026-01-01T00:00:00Z',
    runs: 0,
  })

  it('say the number and the name', () => {
    expect(versionTitle(version('a', 3))).toBe('Version 3')
    expect(versionTitle(version('b', 4, 'before review'))).toBe('Version 4 · “before review”')
    expect(comparisonTitle(version('a', 1), null)).toBe('Changes from version 1 to the current report')
    expect(comparisonTitle(version('a', 1), version('b', 2))).toBe('Changes from version 1 to version 2')
  })

  it('name who took a version', () => {
    const names = (id: string) => ({ u_ada: 'Ada' })[id]
    expect(authorName('u_me', 'u_me', names)).toBe('you')
    expect(authorName('u_ada', 'u_me', names)).toBe('Ada')
    expect(authorName('u_x', 'u_me', names)).toBe('someone')
  })

  it('compare the selected or newest version with the current report by default', () => {
    const versions = [version('new', 2), version('old', 1)]
    expect(defaultComparison(versions, null)).toEqual({ from: 'new', to: null })
    expect(defaultComparison(versions, 'old')).toEqual({ from: 'old', to: null })
    expect(defaultComparison([], null)).toBeNull()
  })
})
