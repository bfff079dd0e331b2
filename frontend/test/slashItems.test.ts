import { describe, expect, it } from 'vitest'

import { filterSlashItems, moveActive, SLASH_ITEMS } from '../src/editor/slashItems'
import { slashItemsFor } from '../src/editor/slashMenu'

const ids = (query: string) => filterSlashItems(SLASH_ITEMS, query).map((item) => item.id)

describe('filterSlashItems', () => {
  it('offers every block for an empty query, in menu order', () => {
    expect(ids('')).toEqual(SLASH_ITEMS.map((item) => item.id))
    expect(ids('')).toEqual(
      expect.arrayContaining(['heading1', 'heading2', 'heading3', 'bulletList', 'orderedList', 'taskList', 'codeBlock', 'quote', 'callout', 'blockMath', 'image', 'divider', 'tableOfContents', 'panelGrid']),
    )
  })

  it('ranks title prefixes first, then title words, keywords, and anything containing the query', () => {
    expect(ids('call')).toEqual(['callout'])
    expect(ids('h2')).toEqual(['heading2'])
    expect(ids('head')).toEqual(['heading1', 'heading2', 'heading3'])
    // "Math block" starts with it; "Inline math" has it as a word.
    expect(ids('math')).toEqual(['blockMath', 'inlineMath'])
    expect(ids('latex')).toEqual(['blockMath', 'inlineMath'])
    expect(ids('todo')).toEqual(['taskList'])
    expect(ids('toc')).toEqual(['tableOfContents'])
    // "list" is a word of three titles, then "checklist" contains it.
    expect(ids('list')).toEqual(['bulletList', 'orderedList', 'taskList'])
    expect(ids('warn')).toEqual(['callout'])
    expect(ids('  CODE ')).toEqual(['codeBlock'])
  })

  it('matches titles without their spaces and finds nothing for nonsense', () => {
    expect(ids('codeblock')).toEqual(['codeBlock'])
    expect(ids('zzz')).toEqual([])
  })
})

describe('slashItemsFor', () => {
  it('offers panel grids only where a dialog can make one', () => {
    expect(slashItemsFor({ insertPanelGrid: null }).map((item) => item.id)).not.toContain('panelGrid')
    expect(slashItemsFor({ insertPanelGrid: () => {} }).map((item) => item.id)).toContain('panelGrid')
  })
})

describe('moveActive', () => {
  it('wraps around both ends', () => {
    expect(moveActive(0, 1, 3)).toBe(1)
    expect(moveActive(2, 1, 3)).toBe(0)
    expect(moveActive(0, -1, 3)).toBe(2)
    expect(moveActive(0, 1, 0)).toBe(0)
  })
})
