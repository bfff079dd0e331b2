/**
 * Syntax colours for code blocks: a ProseMirror plugin whose decorations come
 * from lowlight (highlight.js grammars). It replaces TipTap's lowlight plugin,
 * which walks the whole document on every transaction and highlights every
 * code block again after any change a remote edit brings. Here a change
 * re-highlights only the code blocks it touches (changedRange.ts); the other
 * blocks' colours move with the text.
 *
 * The grammars are large and many reports have no code: they load (a separate
 * chunk) when a code block first needs colours, and the blocks are coloured
 * when they arrive.
 */

import type { Node as PmNode } from '@tiptap/pm/model'
import { Plugin, PluginKey, type EditorState } from '@tiptap/pm/state'
import { Decoration, DecorationSet } from '@tiptap/pm/view'
import type { createLowlight } from 'lowlight'

import { changedRange, changeMapping } from './changedRange'

export type Lowlight = ReturnType<typeof createLowlight>

let loading: Promise<Lowlight> | null = null
let loaded: Lowlight | null = null

/** lowlight with the common languages, loaded once. */
export function loadLowlight(): Promise<Lowlight> {
  loading ??= import('./lowlight').then(({ lowlight }) => (loaded = lowlight))
  return loading
}

/** lowlight if it has loaded, else null. */
export function loadedLowlight(): Lowlight | null {
  return loaded
}

export interface CodeHighlightOptions {
  /** The code block node's name. */
  name: string
  /** The highlighter, or null while it is not loaded. */
  highlighter: () => Lowlight | null
  /** Loads the highlighter (called once code needs colours and it is missing). */
  load: () => Promise<unknown>
}

export interface CodeHighlightState {
  decorations: DecorationSet
  /** Code blocks are waiting for the highlighter to load. */
  waiting: boolean
}

export const codeHighlightKey = new PluginKey<CodeHighlightState>('coreport.codeHighlight')

interface HastNode {
  type: string
  value?: string
  properties?: { className?: string[] }
  children?: HastNode[]
}

/** The text runs of a highlight.js tree, each with the classes around it. */
function runs(nodes: readonly HastNode[], classes: readonly string[] = []): { text: string; classes: string[] }[] {
  return nodes.flatMap((node) => {
    const inner = [...classes, ...(node.properties?.className ?? [])]
    return node.children ? runs(node.children, inner) : [{ text: node.value ?? '', classes: inner }]
  })
}

/** The colour decorations of one code block starting at `pos`. */
export function decorateBlock(lowlight: Lowlight, block: PmNode, pos: number): Decoration[] {
  const language = typeof block.attrs.language === 'string' ? block.attrs.language : ''
  const text = block.textContent
  // An unknown language is guessed, as when there is none.
  const tree = language && lowlight.registered(language) ? lowlight.highlight(language, text) : lowlight.highlightAuto(text)
  const decorations: Decoration[] = []
  let from = pos + 1
  for (const run of runs(tree.children as HastNode[])) {
    const to = from + run.text.length
    if (run.classes.length) decorations.push(Decoration.inline(from, to, { class: run.classes.join(' ') }))
    from = to
  }
  return decorations
}

/** The code blocks of `doc` (with their positions) that overlap `[from, to]`, or all of them. */
export function codeBlocksIn(doc: PmNode, name: string, from = 0, to = doc.content.size): { node: PmNode; pos: number }[] {
  const blocks: { node: PmNode; pos: number }[] = []
  doc.nodesBetween(from, to, (node, pos) => {
    if (node.type.name === name) blocks.push({ node, pos })
    // Textblocks hold only text: nothing inside can be a code block.
    return !node.isTextblock
  })
  return blocks
}

function highlightAll(doc: PmNode, name: string, lowlight: Lowlight | null): CodeHighlightState {
  const blocks = codeBlocksIn(doc, name)
  if (!lowlight) return { decorations: DecorationSet.empty, waiting: blocks.length > 0 }
  return { decorations: DecorationSet.create(doc, blocks.flatMap(({ node, pos }) => decorateBlock(lowlight, node, pos))), waiting: false }
}

/**
 * The colours after a change from `before` to `after`: code blocks that the
 * change touches are highlighted again, the other decorations are mapped.
 */
export function rehighlightCode(previous: CodeHighlightState, before: PmNode, after: PmNode, name: string, lowlight: Lowlight | null): CodeHighlightState {
  const change = changedRange(before, after)
  if (!change) return previous
  // Widened by one so a block that only borders the change (joined, split) counts.
  const touched = codeBlocksIn(after, name, Math.max(0, change.start - 1), Math.min(after.content.size, change.endAfter + 1))
  if (!lowlight) return { decorations: DecorationSet.empty, waiting: previous.waiting || touched.length > 0 }
  let decorations = previous.decorations.map(changeMapping(change), after)
  for (const { node, pos } of touched) {
    decorations = decorations.remove(decorations.find(pos, pos + node.nodeSize))
    decorations = decorations.add(after, decorateBlock(lowlight, node, pos))
  }
  return { decorations, waiting: previous.waiting }
}

/** The plugin that keeps the code blocks' colours. */
export function codeHighlightPlugin({ name, highlighter, load }: CodeHighlightOptions): Plugin<CodeHighlightState> {
  return new Plugin<CodeHighlightState>({
    key: codeHighlightKey,
    state: {
      init: (_, state) => highlightAll(state.doc, name, highlighter()),
      apply: (tr, previous, old, state: EditorState) => {
        if (tr.getMeta(codeHighlightKey) === 'loaded') return highlightAll(state.doc, name, highlighter())
        return tr.docChanged ? rehighlightCode(previous, old.doc, state.doc, name, highlighter()) : previous
      },
    },
    props: {
      decorations: (state) => codeHighlightKey.getState(state)?.decorations ?? null,
    },
    view: (view) => {
      let requested = false
      const request = () => {
        if (requested || !codeHighlightKey.getState(view.state)?.waiting) return
        requested = true
        load().then(
          () => {
            if (!view.isDestroyed) view.dispatch(view.state.tr.setMeta(codeHighlightKey, 'loaded'))
          },
          (error: unknown) => console.warn('coreport: could not load code highlighting', error),
        )
      }
      request()
      return { update: request }
    },
  })
}
