/**
 * The small forms behind the editor's blocks: a formula (with a live KaTeX
 * preview), an image (address, alt text, caption) and a Markdown block's
 * source. Each is a modal dialog (views/modal.ts); it hands the values back
 * and gives focus back to the editor.
 */

import './dialogs.css'

import { h } from '../views/dom'
import { openModal, type Modal } from '../views/modal'
import { renderLatex } from './katex'
import { safeImageSrc } from './links'

interface FormParts {
  modal: Modal
  form: HTMLFormElement
  error: HTMLParagraphElement
}

/** A modal holding one form with the given fields and Save / (Remove) / Cancel buttons. */
function formDialog(options: {
  id: string
  title: string
  submitLabel: string
  fields: HTMLElement[]
  opener: HTMLElement
  /** Checks the form: the change to make once the dialog has closed, or null (the form shows why). */
  onSubmit: (parts: FormParts) => (() => void) | null
  onRemove?: () => void
  /** After the dialog closed, however (saved, removed, cancelled). */
  onClose?: () => void
}): FormParts {
  const error = h('p', { class: 'modal__error', role: 'alert', hidden: true })
  const submit = h('button', { type: 'submit', class: 'button button--primary' }, options.submitLabel)
  const cancel = h('button', { type: 'button', class: 'button button--ghost' }, 'Cancel')
  const remove = options.onRemove ? h('button', { type: 'button', class: 'button button--ghost block-form__remove' }, 'Remove') : null
  const form = h('form', { class: 'block-form' }, ...options.fields, error, h('div', { class: 'block-form__actions' }, submit, cancel, remove))
  const modal = openModal({ id: options.id, title: options.title, className: 'block-dialog', opener: options.opener, onClose: options.onClose })
  modal.body.append(form)
  const parts = { modal, form, error }
  cancel.addEventListener('click', () => modal.close())
  remove?.addEventListener('click', () => {
    modal.close()
    options.onRemove?.()
  })
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    const apply = options.onSubmit(parts)
    if (!apply) return
    // Close first: the page is inert while the dialog is open, and the change focuses the editor.
    modal.close()
    apply()
  })
  // Ctrl+Enter saves from a multi-line field, as in comment boxes.
  form.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault()
      form.requestSubmit()
    }
  })
  return parts
}

function field(id: string, label: string, control: HTMLInputElement | HTMLTextAreaElement, hint?: string): HTMLElement {
  return h('div', { class: 'form-row' }, h('label', { for: id }, label), control, hint ? h('span', { class: 'block-form__hint', id: `${id}-hint` }, hint) : null)
}

export interface MathDialogOptions {
  /** Display (block) or inline formula: the preview and the title follow it. */
  display: boolean
  latex: string
  /** Editing an existing formula offers Remove. */
  editing: boolean
  opener: HTMLElement
  onSave: (latex: string) => void
  onRemove?: () => void
  onClose?: () => void
}

export function openMathDialog(options: MathDialogOptions): void {
  const source = h('textarea', {
    id: 'math-source',
    class: 'input block-form__code',
    rows: options.display ? 4 : 2,
    spellcheck: 'false',
    autocomplete: 'off',
    'aria-describedby': 'math-source-hint',
  })
  source.value = options.latex
  const preview = h('div', { class: `math-preview${options.display ? ' math-preview--display' : ''}`, 'aria-live': 'polite', 'aria-label': 'Preview' })
  const render = () => {
    const latex = source.value.trim()
    if (!latex) {
      preview.textContent = 'The formula appears here.'
      preview.classList.add('math-preview--empty')
      return
    }
    preview.classList.remove('math-preview--empty')
    // throwOnError false: a typo shows in red in the preview instead of failing.
    renderLatex(latex, preview, { displayMode: options.display, throwOnError: false })
  }
  source.addEventListener('input', render)
  render()
  const kind = options.display ? 'math block' : 'inline formula'
  formDialog({
    id: 'math-dialog',
    title: options.editing ? `Edit ${kind}` : `Insert ${kind}`,
    submitLabel: options.editing ? 'Save' : 'Insert',
    fields: [field('math-source', 'LaTeX', source, 'For example \\int_0^1 x^2\\,dx or e^{i\\pi} + 1 = 0. Ctrl+Enter saves.'), preview],
    opener: options.opener,
    onClose: options.onClose,
    onRemove: options.editing ? options.onRemove : undefined,
    onSubmit: ({ error }) => {
      const latex = source.value.trim()
      if (!latex) {
        error.textContent = 'Write a formula, or cancel.'
        error.hidden = false
        source.focus()
        return null
      }
      return () => options.onSave(latex)
    },
  })
  source.focus()
  source.select()
}

export interface ImageValues {
  src: string
  alt: string | null
  title: string | null
}

export interface ImageDialogOptions {
  values: ImageValues | null
  opener: HTMLElement
  onSave: (values: ImageValues) => void
  onRemove?: () => void
  onClose?: () => void
}

export function openImageDialog(options: ImageDialogOptions): void {
  const input = (id: string, value: string | null, attrs: Record<string, string | boolean> = {}) => {
    const el = h('input', { id, class: 'input', autocomplete: 'off', ...attrs })
    el.value = value ?? ''
    return el
  }
  const src = input('image-src', options.values?.src ?? null, { required: true, placeholder: 'https://…/plot.png', inputmode: 'url' })
  const alt = input('image-alt', options.values?.alt ?? null, { placeholder: 'What the image shows, for people who cannot see it' })
  const caption = input('image-caption', options.values?.title ?? null, { placeholder: 'Shown below the image' })
  const editing = options.values !== null
  formDialog({
    id: 'image-dialog',
    title: editing ? 'Edit image' : 'Insert image',
    submitLabel: editing ? 'Save' : 'Insert',
    fields: [field('image-src', 'Image address', src, 'An http(s) address of a PNG, JPEG, GIF, WebP or SVG image.'), field('image-alt', 'Alt text', alt), field('image-caption', 'Caption', caption)],
    opener: options.opener,
    onClose: options.onClose,
    onRemove: editing ? options.onRemove : undefined,
    onSubmit: ({ error }) => {
      const url = src.value.trim()
      if (!safeImageSrc(url)) {
        error.textContent = 'Give an http(s) address of an image.'
        error.hidden = false
        src.focus()
        return null
      }
      const values = { src: url, alt: alt.value.trim() || null, title: caption.value.trim() || null }
      return () => options.onSave(values)
    },
  })
  src.focus()
}

export interface SourceDialogOptions {
  source: string
  opener: HTMLElement
  onSave: (source: string) => void
  onRemove?: () => void
  onClose?: () => void
}

/** Edit a Markdown block's source. */
export function openMarkdownDialog(options: SourceDialogOptions): void {
  const source = h('textarea', { id: 'markdown-source', class: 'input block-form__code', rows: 10, spellcheck: 'true' })
  source.value = options.source
  formDialog({
    id: 'markdown-dialog',
    title: 'Edit Markdown',
    submitLabel: 'Save',
    fields: [field('markdown-source', 'Markdown', source, 'Headings, lists, code, quotes, bold, italic and links. Ctrl+Enter saves.')],
    opener: options.opener,
    onClose: options.onClose,
    onRemove: options.onRemove,
    onSubmit: () => {
      const value = source.value
      return () => options.onSave(value)
    },
  })
  source.focus()
}
