/**
 * Follow mode in the report page: this tab publishes where it looks (`viewport`,
 * `focusedPanel`) and whom it follows (`following`) or whether it presents
 * (`presenting`) in its awareness state; following someone scrolls this tab to what
 * they look at and outlines the panel they focus, until you scroll or type yourself.
 * A banner says whom you follow (with a stop button) or that you present.
 *
 * The rules of who follows whom are in followState.ts; anchoring in viewport.ts.
 */

import type { Editor } from '@tiptap/core'
import type { Awareness } from 'y-protocols/awareness'
import type * as Y from 'yjs'

import './follow.css'

import { peersFromAwareness, type Peer } from '../presence'
import { h } from '../views/dom'
import { followersOf, followFieldsOf, leadingClient, presentersOf, type AwarenessStates } from './awarenessFields'
import { initialFollowState, reduceFollow, type FollowEvent, type FollowState } from './followState'
import { anchorViewport, resolveViewport, sameViewport, scrollTargetFor, topBlock, type Viewport } from './viewport'

/** At most this often (ms) does a tab publish where it looks: about 5 times a second. */
const PUBLISH_EVERY = 200

export interface FollowModeDeps {
  awareness: Awareness
  editor: Editor
  /** The report document and its `body`, which the editor shows. */
  doc: Y.Doc
  body: Y.XmlFragment
  /** This person's presence key (their user id). */
  selfKey: string
  /** The top edge of the visible page below any sticky bars, in viewport pixels. */
  topLine: () => number
}

/** What the presence bar needs: follow a person, and know whom this tab follows. */
export interface FollowControl {
  follow: (key: string) => void
  stop: () => void
  following: () => string | null
  onChange: (listener: () => void) => () => void
}

export interface FollowMode extends FollowControl {
  /** "Following Ada — stop" / "You are presenting": fixed at the bottom of the page. */
  banner: HTMLElement
  /** "Ask everyone to follow me", for the top bar. */
  presentButton: HTMLButtonElement
  destroy: () => void
}

export function createFollowMode(deps: FollowModeDeps): FollowMode {
  const { awareness, editor, selfKey } = deps
  const states = () => awareness.getStates() as AwarenessStates
  let state: FollowState = initialFollowState
  let peers: Peer[] = []
  const listeners = new Set<() => void>()
  /** When each client's state last really changed (awareness 'change', not heartbeats). */
  const changedAt = new Map<number, number>()

  const stopButton = h('button', { type: 'button', class: 'follow-banner__stop', 'aria-label': 'Stop following' }, 'Stop')
  const bannerText = h('span', { class: 'follow-banner__text' })
  const banner = h('div', { class: 'follow-banner', role: 'status', hidden: true }, h('span', { class: 'follow-banner__dot', 'aria-hidden': 'true' }), bannerText, stopButton)
  const presentButton = h(
    'button',
    { type: 'button', class: 'button button--ghost button--small follow-present', 'aria-pressed': 'false', 'aria-label': 'Ask everyone to follow me', title: 'Ask everyone to follow me' },
    'Present',
  )

  // -- publishing where this tab looks ----------------------------------------------------

  let published: Viewport | null = null
  let focusedPanel: string | null = null
  let publishTimer: number | null = null
  let lastPublish = 0

  /** Set several fields of the local awareness state in one message, if any changed. */
  const setFields = (fields: Record<string, unknown>) => {
    const local = awareness.getLocalState()
    if (local === null) return
    if (Object.entries(fields).every(([key, value]) => JSON.stringify(local[key] ?? null) === JSON.stringify(value))) return
    awareness.setLocalState({ ...local, ...fields })
  }

  /** The top-level node DOM elements' rectangles, by index, measured on demand. */
  const blockRect = (index: number) => {
    const dom = topLevelDom(editor, index)
    const rect = dom?.getBoundingClientRect()
    return rect ? { top: rect.top, bottom: rect.bottom } : { top: 0, bottom: 0 }
  }

  const currentViewport = (): Viewport | null => {
    if (editor.isDestroyed) return null
    const top = topBlock(editor.state.doc.childCount, blockRect, deps.topLine())
    return top === null ? null : anchorViewport(deps.body, top.index, top.fraction)
  }

  const publishNow = () => {
    publishTimer = null
    lastPublish = Date.now()
    const viewport = currentViewport()
    const fields: Record<string, unknown> = { focusedPanel }
    if (!sameViewport(viewport, published)) fields.viewport = viewport
    published = viewport
    setFields(fields)
  }

  /** Publish now, or at the end of the current 200 ms window (leading and trailing). */
  const schedulePublish = () => {
    if (publishTimer !== null) return
    const wait = Math.max(0, PUBLISH_EVERY - (Date.now() - lastPublish))
    publishTimer = window.setTimeout(publishNow, wait)
  }

  const panelAt = (target: EventTarget | null): string | null => {
    if (!(target instanceof Element) || !editor.view.dom.contains(target)) return null
    return target.closest<HTMLElement>('[data-panel-id]')?.dataset.panelId ?? null
  }
  const onPointerOver = (event: PointerEvent) => {
    const panel = panelAt(event.target)
    if (panel === focusedPanel) return
    focusedPanel = panel
    schedulePublish()
  }
  const onPointerLeave = () => {
    if (focusedPanel === null) return
    focusedPanel = null
    schedulePublish()
  }

  // -- following someone --------------------------------------------------------------------

  let applyFrame: number | null = null
  let highlighted: string | null = null

  const leaderState = (): { peer: Peer; clientId: number } | null => {
    const peer = peers.find((p) => p.key === state.target)
    if (!peer) return null
    const clientId = leadingClient(peer, states(), (id) => changedAt.get(id) ?? 0)
    return clientId === null ? null : { peer, clientId }
  }

  const highlight = (panelId: string | null, color: string) => {
    const root = editor.view.dom
    if (highlighted !== panelId) {
      for (const element of root.querySelectorAll('.follow-focus')) element.classList.remove('follow-focus')
      highlighted = panelId
    }
    if (panelId === null) return
    for (const element of root.querySelectorAll<HTMLElement>(`[data-panel-id="${CSS.escape(panelId)}"]`)) {
      element.classList.add('follow-focus')
      element.style.setProperty('--follow-color', color)
    }
  }

  /** Scroll to where the leader looks, and outline their panel. */
  const apply = () => {
    applyFrame = null
    const leader = state.target === null ? null : leaderState()
    if (leader === null || editor.isDestroyed) {
      highlight(null, '')
      return
    }
    const fields = followFieldsOf(states().get(leader.clientId))
    highlight(fields.focusedPanel, leader.peer.color)
    if (fields.viewport === null) return
    const { index, fraction } = resolveViewport(deps.doc, deps.body, fields.viewport)
    const dom = topLevelDom(editor, index)
    if (!dom) return
    const rect = dom.getBoundingClientRect()
    const target = scrollTargetFor({ top: rect.top, bottom: rect.bottom }, fraction, deps.topLine(), window.scrollY)
    if (Math.abs(target - window.scrollY) > 1) window.scrollTo({ top: target, behavior: 'instant' })
  }
  const scheduleApply = () => {
    if (applyFrame === null) applyFrame = window.requestAnimationFrame(apply)
  }

  // -- state ----------------------------------------------------------------------------------

  const dispatch = (event: FollowEvent) => {
    const next = reduceFollow(state, event)
    if (next === state) return
    const started = next.target !== null && next.target !== state.target
    state = next
    setFields({ following: state.target, presenting: state.presenting })
    render()
    if (started) scheduleApply()
    if (state.target === null) highlight(null, '')
    for (const listener of [...listeners]) listener()
  }

  const render = () => {
    presentButton.setAttribute('aria-pressed', String(state.presenting))
    presentButton.textContent = state.presenting ? 'Presenting' : 'Present'
    presentButton.classList.toggle('follow-present--on', state.presenting)
    const leader = state.target === null ? undefined : peers.find((p) => p.key === state.target)
    if (leader) {
      banner.hidden = false
      banner.style.setProperty('--follow-color', leader.color)
      bannerText.textContent = `Following ${leader.name}`
      stopButton.textContent = 'Stop'
      stopButton.setAttribute('aria-label', 'Stop following')
    } else if (state.presenting) {
      const followers = followersOf(peers, states(), selfKey).length
      banner.hidden = false
      banner.style.removeProperty('--follow-color')
      bannerText.textContent = `You are presenting · ${followers === 1 ? '1 person follows' : `${followers} people follow`} you`
      stopButton.textContent = 'Stop'
      stopButton.setAttribute('aria-label', 'Stop presenting')
    } else {
      banner.hidden = true
    }
  }

  const onAwarenessChange = ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }) => {
    const now = Date.now()
    for (const id of [...added, ...updated]) changedAt.set(id, now)
    for (const id of removed) changedAt.delete(id)
    peers = peersFromAwareness(states(), awareness.clientID, selfKey)
    const others = peers.filter((p) => !p.isSelf)
    dispatch({ type: 'peers', present: others.map((p) => p.key), presenters: presentersOf(peers, states()) })
    render()
    if (state.target !== null) scheduleApply()
  }

  // -- your own scrolling and typing end following ------------------------------------------

  /** Input aimed at these (the top bar, the sidebar, dialogs) is not taking over the page. */
  const elsewhere = (target: EventTarget | null) =>
    target instanceof Element && target.closest('.topbar, aside, [role="dialog"], .follow-banner') !== null
  const takeOver = () => {
    if (state.target !== null) dispatch({ type: 'user-input' })
  }
  const onWheel = (event: Event) => {
    if (!elsewhere(event.target)) takeOver()
  }
  const onKeyDown = (event: KeyboardEvent) => {
    if (state.target === null) return
    if (event.key === 'Escape') {
      dispatch({ type: 'stop' })
      return
    }
    if (['Shift', 'Control', 'Alt', 'Meta', 'Tab'].includes(event.key) || elsewhere(event.target)) return
    takeOver()
  }
  const onPointerDown = (event: PointerEvent) => {
    // The page's scrollbar (the root element) or the text itself.
    if (event.target === document.documentElement || (event.target instanceof Node && editor.view.dom.contains(event.target))) takeOver()
  }

  const onScroll = () => schedulePublish()
  // A new width reflows the text: look again where the leader is (and tell where you are).
  const onLayoutChange = () => {
    schedulePublish()
    if (state.target !== null) scheduleApply()
  }
  const onEditorUpdate = onLayoutChange

  stopButton.addEventListener('click', () => {
    if (state.target !== null) dispatch({ type: 'stop' })
    else if (state.presenting) dispatch({ type: 'present', on: false })
  })
  presentButton.addEventListener('click', () => dispatch({ type: 'present', on: !state.presenting }))

  awareness.on('change', onAwarenessChange)
  window.addEventListener('scroll', onScroll, { passive: true })
  window.addEventListener('resize', onLayoutChange, { passive: true })
  window.addEventListener('wheel', onWheel, { passive: true })
  window.addEventListener('touchmove', onWheel, { passive: true })
  window.addEventListener('keydown', onKeyDown, true)
  window.addEventListener('pointerdown', onPointerDown, true)
  editor.view.dom.addEventListener('pointerover', onPointerOver)
  editor.view.dom.addEventListener('pointerleave', onPointerLeave)
  editor.on('update', onEditorUpdate)
  onAwarenessChange({ added: [], updated: [], removed: [] })
  schedulePublish()

  return {
    banner,
    presentButton,
    follow: (key) => {
      if (key !== selfKey) dispatch({ type: 'follow', key })
    },
    stop: () => dispatch({ type: 'stop' }),
    following: () => state.target,
    onChange: (listener) => {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    destroy() {
      listeners.clear()
      awareness.off('change', onAwarenessChange)
      window.removeEventListener('scroll', onScroll)
      window.removeEventListener('resize', onLayoutChange)
      window.removeEventListener('wheel', onWheel)
      window.removeEventListener('touchmove', onWheel)
      window.removeEventListener('keydown', onKeyDown, true)
      window.removeEventListener('pointerdown', onPointerDown, true)
      editor.view.dom.removeEventListener('pointerover', onPointerOver)
      editor.view.dom.removeEventListener('pointerleave', onPointerLeave)
      editor.off('update', onEditorUpdate)
      if (publishTimer !== null) window.clearTimeout(publishTimer)
      if (applyFrame !== null) window.cancelAnimationFrame(applyFrame)
      highlight(null, '')
    },
  }
}

/** The DOM of the `index`th top-level node of the editor's document. */
function topLevelDom(editor: Editor, index: number): HTMLElement | null {
  const doc = editor.state.doc
  if (index < 0 || index >= doc.childCount) return null
  let offset = 0
  for (let i = 0; i < index; i++) offset += doc.child(i).nodeSize
  const dom = editor.view.nodeDOM(offset)
  return dom instanceof HTMLElement ? dom : null
}
