/**
 * "Export": a menu button (WAI-ARIA menu pattern: arrows move, Escape closes
 * and returns to the button) that downloads the report as Markdown or as a
 * standalone HTML page, rendered by the server (`GET /api/reports/{id}/markdown`
 * and `/html`, docs/report-api.md).
 */

import './exportMenu.css'

import { ApiError, renderReport, type ExportFormat } from '../api'
import { h } from './dom'

export interface ExportMenuDeps {
  reportId: string
  /** The report's title as it is now, for the file name. */
  title: () => string
}

const FORMATS: ReadonlyArray<{ format: ExportFormat; label: string; type: string }> = [
  { format: 'markdown', label: 'Markdown (.md)', type: 'text/markdown;charset=utf-8' },
  { format: 'html', label: 'HTML page (.html)', type: 'text/html;charset=utf-8' },
]

const EXTENSIONS: Record<ExportFormat, string> = { markdown: 'md', html: 'html' }

/** A file name from the title: characters file systems refuse become '-', at most 80 of them. */
export function exportFileName(title: string, format: ExportFormat): string {
  const base = title
    // Control characters and what Windows, macOS or Linux refuse in a name.
    .replace(/[\u0000-\u001f\u007f<>:"/\\|?*]+/g, '-')
    .replace(/\s+/g, ' ')
    .replace(/^[\s.-]+|[\s.-]+$/g, '')
    .slice(0, 80)
    .trim()
  return `${base || 'report'}.${EXTENSIONS[format]}`
}

export function createExportMenu(deps: ExportMenuDeps): { element: HTMLElement; destroy: () => void } {
  const button = h(
    'button',
    {
      type: 'button',
      id: 'export-button',
      class: 'button button--ghost button--small',
      'aria-haspopup': 'menu',
      'aria-expanded': 'false',
      'aria-controls': 'export-menu',
      'aria-label': 'Export',
      title: 'Download this report',
    },
    h('span', { class: 'export__label' }, 'Export'),
  )
  const items = FORMATS.map(({ format, label }) => {
    const item = h('button', { type: 'button', role: 'menuitem', class: 'export-menu__item', tabindex: -1, 'data-format': format }, `Download ${label}`)
    item.addEventListener('click', () => void download(format))
    return item
  })
  const menu = h('div', { id: 'export-menu', role: 'menu', class: 'export-menu', 'aria-labelledby': 'export-button', hidden: true }, ...items)
  // Failures are announced here (the menu itself has closed by then).
  const status = h('span', { class: 'visually-hidden', 'aria-live': 'polite' })
  const element = h('div', { class: 'export' }, button, menu, status)

  const isOpen = () => !menu.hidden
  const open = (focusIndex: number) => {
    menu.hidden = false
    button.setAttribute('aria-expanded', 'true')
    items[(focusIndex + items.length) % items.length].focus()
  }
  const close = (returnFocus: boolean) => {
    if (!isOpen()) return
    menu.hidden = true
    button.setAttribute('aria-expanded', 'false')
    if (returnFocus) button.focus()
  }

  button.addEventListener('click', () => (isOpen() ? close(true) : open(0)))
  button.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault()
      open(event.key === 'ArrowDown' ? 0 : -1)
    }
  })
  menu.addEventListener('keydown', (event) => {
    const index = items.indexOf(document.activeElement as HTMLButtonElement)
    const next = { ArrowDown: index + 1, ArrowUp: index - 1, Home: 0, End: items.length - 1 }[event.key]
    if (next !== undefined) {
      event.preventDefault()
      items[(next + items.length) % items.length].focus()
    } else if (event.key === 'Escape') {
      event.preventDefault()
      close(true)
    } else if (event.key === 'Tab') {
      close(false)
    }
  })
  const onPointerDown = (event: PointerEvent) => {
    if (isOpen() && !element.contains(event.target as Node)) close(false)
  }
  document.addEventListener('pointerdown', onPointerDown)

  async function download(format: ExportFormat): Promise<void> {
    close(true)
    const label = button.querySelector('.export__label')!
    label.textContent = 'Exporting…'
    try {
      const text = await renderReport(deps.reportId, format)
      const type = FORMATS.find((f) => f.format === format)!.type
      saveFile(new Blob([text], { type }), exportFileName(deps.title(), format))
      status.textContent = `Downloaded ${exportFileName(deps.title(), format)}`
    } catch (error) {
      const reason = error instanceof ApiError ? error.message : String(error)
      status.textContent = `Export failed: ${reason}`
      button.title = `Export failed: ${reason}`
    } finally {
      label.textContent = 'Export'
    }
  }

  return { element, destroy: () => document.removeEventListener('pointerdown', onPointerDown) }
}

function saveFile(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob)
  const link = h('a', { href: url, download: name, hidden: true })
  document.body.append(link)
  link.click()
  link.remove()
  // The download has started from the click; the object URL is no longer needed after it.
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000)
}
