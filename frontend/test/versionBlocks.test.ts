import { describe, expect, it } from 'vitest'

import type { Block } from '../src/api'
import { blocksToDoc, inlineNodes, nodeText } from '../src/views/versionBlocks'

describe('version blocks as a read-only page', () => {
  it('renders rich text spans with their marks, safe links only', () => {
    expect(
      inlineNodes([
        { text: 'Loss ' },
        { text: 'fell', bold: true, italic: true },
        { text: 'run 7', link: 'https://example.com/runs/7' },
        { text: 'bad', link: 'javascript:alert(1)' },
        { math: 'e^x' },
        { text: 'a\nb' },
      ]),
    ).toEqual([
      'Loss ',
      { tag: 'strong', children: [{ tag: 'em', children: ['fell'] }] },
      { tag: 'a', attrs: { href: 'https://example.com/runs/7', rel: 'noopener noreferrer', target: '_blank' }, children: ['run 7'] },
      'bad',
      { tag: 'code', attrs: { class: 'version-doc__math' }, children: ['e^x'] },
      'a',
      { tag: 'br', children: [] },
      'b',
    ])
    expect(inlineNodes('plain')).toEqual(['plain'])
  })

  it('maps each block type to an element', () => {
    const blocks: Block[] = [
      { type: 'heading', level: 2, text: [{ text: 'Setup' }] },
      { type: 'paragraph', text: [{ text: 'Learning rate ' }, { text: '0.1', code: true }] },
      { type: 'numbered_list', start: 3, items: [{ text: [{ text: 'three' }], checked: false, children: [] }] },
      { type: 'check_list', items: [{ text: [{ text: 'baseline' }], checked: true, children: [] }] },
      { type: 'code', language: 'python', code: 'print(1)\n' },
      { type: 'quote', text: [{ text: 'Measure twice.' }] },
      { type: 'divider' },
      { type: 'something_new' },
    ]
    const doc = blocksToDoc(blocks)
    expect(doc.map((node) => (typeof node === 'string' ? node : node.tag))).toEqual(['h2', 'p', 'ol', 'ul', 'pre', 'blockquote', 'hr', 'p'])
    expect(doc[1]).toEqual({ tag: 'p', children: ['Learning rate ', { tag: 'code', children: ['0.1'] }] })
    expect(doc[2]).toMatchObject({ tag: 'ol', attrs: { start: '3' } })
    expect(JSON.stringify(doc[3])).toContain('Done: ')
    expect(doc[4]).toEqual({ tag: 'pre', attrs: { 'data-language': 'python' }, children: [{ tag: 'code', children: ['print(1)\n'] }] })
    expect(doc[7]).toEqual({ tag: 'p', attrs: { class: 'version-doc__note' }, children: ['(something_new block)'] })
  })

  it('describes a panel grid by its panels and run sets', () => {
    const [grid] = blocksToDoc([
      {
        type: 'panel_grid',
        runsets: [{ name: 'Baselines', project: 'mnist', filters: ['tag=baseline'], run_ids: [] }],
        panels: [{ type: 'line', title: 'Loss', metrics: ['loss'] }, { type: 'run_table', metrics: [] }],
      },
    ])
    const text = JSON.stringify(grid)
    expect(text).toContain('Panel grid (2 panels)')
    expect(text).toContain('Loss')
    expect(text).toContain('line of loss')
    expect(text).toContain('project mnist; where tag=baseline')
  })

  it('reads the text of a node kept verbatim', () => {
    const node = {
      type: 'blockquote',
      content: [
        { type: 'paragraph', content: [{ type: 'text', text: 'two' }] },
        { type: 'paragraph', content: [{ type: 'text', text: 'para' }, { type: 'text', text: 'graphs' }] },
      ],
    }
    expect(nodeText(node)).toBe('two paragraphs')
  })
})
