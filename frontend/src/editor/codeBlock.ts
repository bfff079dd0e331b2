/**
 * `codeBlock` (docs/document-schema.md, attribute `language`) with syntax
 * highlighting: TipTap's CodeBlockLowlight over lowlight's common languages
 * (highlight.js grammars; highlighting is a decoration, never stored). Without
 * a language the code is highlighted by guessing. Editors choose the language
 * from a menu on the block (``` + a language name also sets it); readers see
 * its name.
 */

import './codeBlock.css'

import CodeBlockLowlight from '@tiptap/extension-code-block-lowlight'
import type { Node as ProseMirrorNode } from '@tiptap/pm/model'
import { common, createLowlight } from 'lowlight'

import { h } from '../views/dom'

export const lowlight = createLowlight(common)

const LANGUAGES = lowlight.listLanguages().sort()

export const CodeBlock = CodeBlockLowlight.extend({
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
        const names = language && !LANGUAGES.includes(language) ? [language, ...LANGUAGES] : LANGUAGES
        if (select.options.length !== names.length + 1) {
          select.replaceChildren(h('option', { value: '' }, 'Auto'), ...names.map((name) => h('option', { value: name }, name)))
        }
        select.value = language ?? ''
        label.textContent = language ?? ''
        label.hidden = !language
        code.className = language ? `language-${language}` : ''
      }
      render(node)

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
}).configure({ lowlight, defaultLanguage: null })
