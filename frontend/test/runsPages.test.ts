import { describe, expect, it } from 'vitest'

import { parseRoute, projectPath, runPath } from '../src/router'
import type { HistoryInfo, ProjectInfo, RunInfo } from '../src/views/runsApi'
import { mergeLiveRows, metricOrder, seriesFromHistory } from '../src/views/runsSeries'
import { commitUrl, flattenObject, formatValue, parseRunFilter, sortProjects, summaryColumns, valueAt } from '../src/views/runsTable'

function run(id: string, summary: Record<string, unknown>, config: Record<string, unknown> = {}): RunInfo {
  return {
    id,
    project: 'p',
    name: id,
    state: 'finished',
    config,
    summary,
    tags: [],
    code: { git_commit: null, repository: null, diff_summary: null },
    created_at: '2024-01-01T00:00:00Z',
    updated_at: '2024-01-01T00:00:00Z',
  }
}

describe('parseRunFilter', () => {
  it('turns the box into the run list query, one encoded part per condition', () => {
    const filter = parseRunFilter(' state=running,finished  tag=baseline&summary.loss<0.5 sort=-summary.loss ')
    expect(filter.parts).toEqual(['state=running,finished', 'tag=baseline', 'summary.loss<0.5', 'sort=-summary.loss'])
    expect(filter.query).toBe('state%3Drunning%2Cfinished&tag%3Dbaseline&summary.loss%3C0.5&sort%3D-summary.loss')
  })

  it('keeps quoted values whole, quotes and all (the server reads them as JSON strings)', () => {
    expect(parseRunFilter('config.note="two words" config.lr="0.1"').parts).toEqual(['config.note="two words"', 'config.lr="0.1"'])
  })

  it('is empty for an empty box', () => {
    expect(parseRunFilter('   ')).toEqual({ parts: [], query: '' })
  })
})

describe('summaryColumns', () => {
  it('picks the most widely logged numeric summary metrics, then by name', () => {
    const runs = [
      run('a', { loss: 0.1, acc: 0.9, note: 'text', _runtime: 3, eval: { f1: 0.5 } }),
      run('b', { loss: 0.2, eval: { f1: 0.4 } }),
      run('c', { loss: 0.3, zeta: 1 }),
    ]
    expect(summaryColumns(runs)).toEqual(['loss', 'eval.f1', 'acc', 'zeta'])
    expect(summaryColumns(runs, 2)).toEqual(['loss', 'eval.f1'])
    expect(summaryColumns([])).toEqual([])
  })
})

describe('config and summary as rows', () => {
  it('flattens nested objects to dotted keys, sorted; arrays and empty objects stay values', () => {
    expect(flattenObject({ opt: { lr: 0.1, name: 'adam' }, layers: [64, 32], extra: {}, a: null })).toEqual([
      ['a', null],
      ['extra', {}],
      ['layers', [64, 32]],
      ['opt.lr', 0.1],
      ['opt.name', 'adam'],
    ])
  })

  it('reads dotted paths, and keys that contain a dot', () => {
    expect(valueAt({ eval: { f1: 0.5 } }, 'eval.f1')).toBe(0.5)
    expect(valueAt({ 'eval.f1': 0.7 }, 'eval.f1')).toBe(0.7)
    expect(valueAt({ eval: 3 }, 'eval.f1')).toBeUndefined()
  })

  it('formats values briefly', () => {
    expect(formatValue(0.123456789)).toBe('0.12346')
    expect(formatValue(42)).toBe('42')
    expect(formatValue(0.00001234)).toBe('1.234e-5')
    expect(formatValue(12345678901.5)).toBe('1.235e+10')
    expect(formatValue('adam')).toBe('adam')
    expect(formatValue([1, 2])).toBe('[1,2]')
    expect(formatValue(true)).toBe('true')
    expect(formatValue(undefined)).toBe('')
  })
})

describe('projects and code references', () => {
  it('lists the most recently active projects first', () => {
    const project = (name: string, last: string): ProjectInfo => ({ name, created_at: '2024-01-01T00:00:00Z', run_count: 1, last_activity: last })
    const sorted = sortProjects([project('b', '2024-01-01T00:00:00Z'), project('a', '2024-02-01T00:00:00Z'), project('c', '2024-01-01T00:00:00Z')])
    expect(sorted.map((p) => p.name)).toEqual(['a', 'b', 'c'])
  })

  it('links commits of web-hosted repositories only', () => {
    expect(commitUrl('https://github.com/org/repo.git', 'abc123')).toBe('https://github.com/org/repo/commit/abc123')
    expect(commitUrl('git@github.com:org/repo.git', 'abc123')).toBe('https://github.com/org/repo/commit/abc123')
    expect(commitUrl('https://gitlab.example/org/repo', null)).toBe('https://gitlab.example/org/repo')
    expect(commitUrl('/home/me/repo', 'abc123')).toBeNull()
    expect(commitUrl('javascript:alert(1)', 'abc')).toBeNull()
    expect(commitUrl(null, 'abc')).toBeNull()
  })
})

describe('run series', () => {
  const history: HistoryInfo = {
    run_id: 'r1',
    max_points: 1000,
    series: {
      loss: { steps: [0, 1, 2], values: [1, 0.5, 0.3], timestamps: [0, 0, 0], total_points: 3, sampled: false },
      _gpu: { steps: [0], values: [50], timestamps: [0], total_points: 1, sampled: false },
      acc: { steps: [0, 2], values: [0.1, 0.5], timestamps: [0, 0], total_points: 2, sampled: false },
    },
  }

  it('orders metrics by name, system metrics last', () => {
    expect([...seriesFromHistory(history).keys()]).toEqual(['acc', 'loss', '_gpu'])
    expect(metricOrder(['_b', 'b', 'a'])).toEqual(['a', 'b', '_b'])
  })

  it('merges live rows in step order, replacing a step logged again, and adds new metrics', () => {
    const series = seriesFromHistory(history)
    const changed = mergeLiveRows(series, [
      { step: 3, timestamp: 0, metrics: { loss: 0.2, lr: 0.01 } },
      { step: 1, timestamp: 0, metrics: { acc: 0.3 } },
      { step: 2, timestamp: 0, metrics: { loss: 0.25 } },
    ])
    expect([...changed].sort()).toEqual(['acc', 'loss', 'lr'])
    expect(series.get('loss')).toEqual({ steps: [0, 1, 2, 3], values: [1, 0.5, 0.25, 0.2] })
    expect(series.get('acc')).toEqual({ steps: [0, 1, 2], values: [0.1, 0.3, 0.5] })
    expect(series.get('lr')).toEqual({ steps: [3], values: [0.01] })
    // The history read is not changed by merging into the series made from it.
    expect(history.series.loss.steps).toEqual([0, 1, 2])
  })
})

describe('runs routes', () => {
  it('parse the projects list, a project and a run', () => {
    expect(parseRoute('/projects')).toEqual({ name: 'projects' })
    expect(parseRoute('/projects/')).toEqual({ name: 'projects' })
    expect(parseRoute('/projects/mnist')).toEqual({ name: 'project', project: 'mnist' })
    expect(parseRoute('/projects/mnist.v2/')).toEqual({ name: 'project', project: 'mnist.v2' })
    expect(parseRoute('/runs/r_1-a')).toEqual({ name: 'run', runId: 'r_1-a' })
    expect(parseRoute('/runs/bad.id').name).toBe('not-found')
    expect(parseRoute('/projects/-x').name).toBe('not-found')
  })

  it('make paths that parse back, even for project names with dots', () => {
    for (const project of ['mnist', 'mnist.v2', 'a_b-c']) expect(parseRoute(projectPath(project))).toEqual({ name: 'project', project })
    // A last segment with a dot would be taken for a file by the server.
    expect(projectPath('mnist.v2')).toBe('/projects/mnist.v2/')
    expect(parseRoute(runPath('abc'))).toEqual({ name: 'run', runId: 'abc' })
  })
})
