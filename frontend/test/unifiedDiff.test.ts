import { describe, expect, it } from 'vitest'

import { diffSummary, parseUnifiedDiff } from '../src/views/unifiedDiff'

describe('unified diff shaping', () => {
  it('numbers lines and counts additions and removals', () => {
    // As difflib.unified_diff writes it for the versions route (docs/report-api.md).
    const text = ['--- version 1', '+++ current', '@@ -11,3 +11,5 @@', ' Run sets:', ' ', '-- **Baselines**: old', '+- **Baselines**: new', '+', '+Converges after 3 epochs.', ''].join('\n')
    const diff = parseUnifiedDiff(text)
    expect(diff.from).toBe('version 1')
    expect(diff.to).toBe('current')
    expect(diff.added).toBe(3)
    expect(diff.removed).toBe(1)
    expect(diff.hunks).toHaveLength(1)
    expect(diff.hunks[0].lines).toEqual([
      { kind: 'context', text: 'Run sets:', oldNumber: 11, newNumber: 11 },
      { kind: 'context', text: '', oldNumber: 12, newNumber: 12 },
      { kind: 'del', text: '- **Baselines**: old', oldNumber: 13, newNumber: null },
      { kind: 'add', text: '- **Baselines**: new', oldNumber: null, newNumber: 13 },
      { kind: 'add', text: '', oldNumber: null, newNumber: 14 },
      { kind: 'add', text: 'Converges after 3 epochs.', oldNumber: null, newNumber: 15 },
    ])
    expect(diffSummary(diff)).toBe('3 lines added, 1 removed')
  })

  it('reads a removed line that looks like a file header as a removal', () => {
    // Markdown "-- x" removed inside a hunk is "--- x"; it is not a new file header.
    const diff = parseUnifiedDiff('--- a\n+++ b\n@@ -1,2 +1 @@\n--- x\n keep\n')
    expect(diff.from).toBe('a')
    expect(diff.hunks[0].lines.map((l) => [l.kind, l.text])).toEqual([
      ['del', '-- x'],
      ['context', 'keep'],
    ])
    expect(diff.hunks[0].lines[1]).toMatchObject({ oldNumber: 2, newNumber: 1 })
  })

  it('handles several hunks, single-line counts and notes', () => {
    const text = '--- version 1\n+++ version 2\n@@ -1 +1 @@\n-a\n+b\n\\ No newline at end of file\n@@ -9,0 +10,2 @@\n+c\n+d\n'
    const diff = parseUnifiedDiff(text)
    expect(diff.to).toBe('version 2')
    expect(diff.hunks.map((h) => [h.oldStart, h.newStart, h.lines.length])).toEqual([
      [1, 1, 3],
      [9, 10, 2],
    ])
    expect(diff.hunks[0].lines[2]).toEqual({ kind: 'note', text: 'No newline at end of file', oldNumber: null, newNumber: null })
    expect(diff.hunks[1].lines.map((l) => l.newNumber)).toEqual([10, 11])
    expect(diffSummary(diff)).toBe('3 lines added, 1 removed')
  })

  it('says when nothing changed', () => {
    const diff = parseUnifiedDiff('')
    expect(diff.hunks).toEqual([])
    expect(diffSummary(diff)).toBe('No changes')
    expect(diffSummary(parseUnifiedDiff('@@ -1 +1,2 @@\n a\n+b\n'))).toBe('1 line added')
    expect(diffSummary(parseUnifiedDiff('@@ -1,2 +1 @@\n a\n-b\n'))).toBe('1 line removed')
  })
})
