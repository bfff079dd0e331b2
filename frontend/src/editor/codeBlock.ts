/**
 * `codeBlock` (docs/document-schema.md, attribute `language`) with syntax
 * highlighting: TipTap's code block with our highlighting plugin over
 * lowlight's common languages (codeHighlight.ts: highlight.js grammars, loaded
 * when first needed; highlighting is a decoration, never stored). Without a
 * language the code is highlighted by guessing. Editors choose the language
 * from a menu on the block (``` + a language name also sets it); readers see
 * its name.
 */

import './codeBlock.css'

import { CodeBlock as TiptapCodeBlock } from '@tiptap/extension-code-block'
import type { Node as ProseMirrorNode } from '@tiptap/pm/model'

import { h } from '../views/dom'
import { codeHighlightPlugin, loadedLowlight, loadLowlight } from './codeHighlight'

/** The languages the menu offers: none until the grammars have loaded. */
function languages(): string[] {
  return loadedLowlight()?.listLanguages().sort() ?? []
}

export const CodeBlock = TiptapCodeBlock.extend({
  addProseMirrorPlugins() {
    return [...(this.parent?.() ?? []), codeHighlightPlugin({ name: this.name, highlighter: loadedLowlight, load: loadLowlight })]
  },

  addNodeView() {
    return ({ node, editor, getPos }) => {
      const select = h('select', { class: 'code-block__language-select', 'aria-label': 'Code language' })
      const label = h('span', { class: 'code-block__language' })
      const header = h('div', { class: 'code-block__header', contenteditable: 'false' }, label, select)
      const code = h('code')
      const pre = h('pre', {}, code)
      const dom = h('div', { class: 'code-block' }, header, pre)

      let current = node
      const render = (next: ProseMirrorNode) => {
        const language = typeof next.attrs.language === 'string' && next.attrs.language ? next.attrs.language : null
        const known = languages()
        const names = language && !known.includes(language) ? [language, ...known] : known
        if (select.options.length !== names.length + 1 || (language && select.options[1]?.value !== names[0])) {
          select.replaceChildren(h('option', { value: '' }, 'Auto'), ...names.map((name) => h('option', { value: name }, name)))
        }
        select.value = language ?? ''
        label.textContent = language ?? ''
        label.hidden = !language
        code.className = language ? `language-${language}` : ''
      }
      render(node)
      if (!loadedLowlight()) void loadLowlight().then(() => render(current), () => undefined)

      select.addEventListener('change', () => {
        const pos = typeof getPos === 'function' ? getPos() : undefined
        if (!editor.isEditable || pos === undefined) {
          render(current)
          return
        }
        editor.view.dispatch(editor.state.tr.setNodeAttribute(pos, 'language', select.value || null))
      })

      return {
        dom,
        contentDOM: code,
        update: (next) => {
          if (next.type !== current.type) return false
          current = next
          render(next)
          return true
        },
        stopEvent: (event) => header.contains(event.target as globalThis.Node),
        ignoreMutation: (mutation) => mutation.type !== 'selection' && header.contains(mutation.target),
      }
    }
  },
}).configure({ defaultLanguage: null })
