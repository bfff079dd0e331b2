/**
 * A modal `<dialog>` (role dialog, the rest of the page inert while it is open)
 * with a heading, a close button, Escape to close, and focus given back to the
 * control that opened it. The share dialog and the history drawer build on it.
 */

import './modal.css'

import { h } from './dom'
import { icon } from './icons'

export interface ModalOptions {
  /** Unique per page: names the heading the dialog is labelled by. */
  id: string
  title: string
  className: string
  /** Focus returns here when the dialog closes. */
  opener?: HTMLElement | null
  /** Asked before Escape closes the dialog; return true when Escape was used up (e.g. closed a confirmation). */
  onEscape?: () => boolean
  onClose?: () => void
}

export interface Modal {
  dialog: HTMLDialogElement
  heading: HTMLHeadingElement
  body: HTMLElement
  closeButton: HTMLButtonElement
  close: () => void
}

export function openModal(options: ModalOptions): Modal {
  const headingId = `${options.id}-title`
  const heading = h('h2', { id: headingId, class: 'modal__title' }, options.title)
  const closeButton = h(
    'button',
    { type: 'button', class: 'icon-button modal__close', 'aria-label': 'Close', title: 'Close (Esc)' },
    icon('close', 18),
  )
  const body = h('div', { class: 'modal__body' })
  const dialog = h(
    'dialog',
    { id: options.id, class: `modal ${options.className}`, 'aria-labelledby': headingId },
    h('div', { class: 'modal__head' }, heading, closeButton),
    body,
  )
  const opener = options.opener ?? (document.activeElement instanceof HTMLElement ? document.activeElement : null)

  const close = () => {
    if (dialog.open) dialog.close()
  }
  closeButton.addEventListener('click', close)
  // Escape fires `cancel` on a modal dialog; the default closes it.
  dialog.addEventListener('cancel', (event) => {
    if (options.onEscape?.()) event.preventDefault()
  })
  // A click on the backdrop lands on the dialog element itself, outside its box.
  dialog.addEventListener('click', (event) => {
    if (event.target !== dialog) return
    const box = dialog.getBoundingClientRect()
    const inside = event.clientX >= box.left && event.clientX <= box.right && event.clientY >= box.top && event.clientY <= box.bottom
    if (!inside) close()
  })
  dialog.addEventListener('close', () => {
    dialog.remove()
    options.onClose?.()
    if (opener?.isConnected) opener.focus()
  })
  document.body.append(dialog)
  dialog.showModal()
  closeButton.focus()
  return { dialog, heading, body, closeButton, close }
}

/**
 * Re-render `container` and keep focus on "the same" control: the element
 * with the `data-focus-key` the focused one had, else `fallback`.
 */
export function rerenderKeepingFocus(container: HTMLElement, render: () => void, fallback?: () => HTMLElement | null): void {
  const active = document.activeElement
  const key = active instanceof HTMLElement && container.contains(active) ? active.dataset.focusKey : undefined
  const hadFocus = active instanceof Node && container.contains(active)
  render()
  if (!hadFocus) return
  const same = key ? container.querySelector<HTMLElement>(`[data-focus-key="${CSS.escape(key)}"]`) : null
  ;(same ?? fallback?.())?.focus()
}
