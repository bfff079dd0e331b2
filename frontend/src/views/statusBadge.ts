/**
 * The connection indicator: a coloured dot and a short label in the header,
 * and, when the server refused us for good, a banner saying why with a way to
 * try again.
 */

import type { ReportSession } from '../session'
import type { ConnectionView } from '../connectionStatus'
import { h } from './dom'
import { icon } from './icons'

export function createStatusBadge(session: ReportSession): {
  element: HTMLElement
  banner: HTMLElement
  destroy: () => void
} {
  const label = h('span', { class: 'status__label' })
  const detail = h('span', { class: 'visually-hidden' })
  const retry = h(
    'button',
    { type: 'button', class: 'icon-button status__retry', 'aria-label': 'Try to connect again', title: 'Try to connect again', hidden: true },
    icon('retry', 16),
  )
  retry.addEventListener('click', () => session.reconnect())
  const badge = h(
    'div',
    { class: 'status', role: 'status', 'aria-live': 'polite' },
    h('span', { class: 'status__dot', 'aria-hidden': 'true' }),
    label,
    detail,
  )
  const element = h('div', { class: 'status-area' }, badge, retry)

  const bannerText = h('p', { class: 'banner__text' })
  const bannerRetry = h('button', { type: 'button', class: 'button button--small' }, 'Try again')
  bannerRetry.addEventListener('click', () => session.reconnect())
  const banner = h('div', { class: 'banner', role: 'alert', hidden: true }, bannerText, bannerRetry)

  const render = (view: ConnectionView) => {
    badge.dataset.state = view.kind
    badge.title = view.detail
    label.textContent = view.label
    detail.textContent = `: ${view.detail}`
    retry.hidden = view.kind !== 'stopped'
    banner.hidden = view.kind !== 'stopped'
    bannerText.textContent = view.kind === 'stopped' ? `${view.label}. ${view.detail}` : ''
  }
  render(session.connection)
  const stop = session.onConnectionChange(render)
  return { element, banner, destroy: stop }
}
