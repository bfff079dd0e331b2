/**
 * The @mention list of a comment box: typing `@` opens the people who may be mentioned
 * under the box, narrowed as you type; arrows move, Enter or Tab (or a click) inserts
 * `@Name `, Escape closes the list (and only the list).
 */

import './mentions.css'

import { h } from '../views/dom'
import { filterPeople, insertMention, mentionQueryAt, mentionsIn, type MentionPerson, type MentionQuery } from './mentions'

export interface MentionField {
  /** The box wrapped with its list: put this where the box would go. */
  element: HTMLElement
  /** The user ids the box's text mentions now. */
  mentions: () => string[]
  destroy: () => void
}

let lists = 0

export function createMentionField(input: HTMLInputElement | HTMLTextAreaElement, people: () => readonly MentionPerson[]): MentionField {
  const listId = `mention-list-${++lists}`
  const list = h('ul', { class: 'mention-list', id: listId, role: 'listbox', 'aria-label': 'People to mention', hidden: true })
  const element = h('div', { class: 'mention-field' }, input, list)
  // The box stays a textbox (a combobox role would make every comment box a picker to
  // assistive technology); it names the list it controls and its highlighted option.
  input.setAttribute('aria-autocomplete', 'list')
  input.setAttribute('aria-controls', listId)

  const picked: MentionPerson[] = []
  let query: MentionQuery | null = null
  let options: MentionPerson[] = []
  let active = 0

  const close = () => {
    query = null
    options = []
    list.hidden = true
    list.replaceChildren()
    input.removeAttribute('aria-activedescendant')
  }

  const show = () => {
    list.replaceChildren(
      ...options.map((person, index) => {
        const option = h(
          'li',
          { class: 'mention-list__option', id: `${listId}-${index}`, role: 'option', 'aria-selected': String(index === active), 'data-user-id': person.id },
          h('span', { class: 'mention-list__name' }, person.name),
          person.name !== person.id ? null : h('span', { class: 'mention-list__hint' }, 'member'),
        )
        // Keep the focus (and the caret) in the box.
        option.addEventListener('mousedown', (event) => event.preventDefault())
        option.addEventListener('click', () => pick(index))
        return option
      }),
    )
    list.hidden = false
    input.setAttribute('aria-activedescendant', `${listId}-${active}`)
  }

  const update = () => {
    const caret = input.selectionStart ?? input.value.length
    const found = input.selectionStart === input.selectionEnd ? mentionQueryAt(input.value, caret) : null
    const matches = found ? filterPeople(people(), found.query) : []
    if (!found || matches.length === 0) {
      close()
      return
    }
    const activeId = options[active]?.id
    query = found
    options = matches
    active = Math.max(0, options.findIndex((p) => p.id === activeId))
    show()
  }

  const pick = (index: number) => {
    const person = options[index]
    if (!person || !query) return
    const next = insertMention(input.value, input.selectionStart ?? input.value.length, query, person)
    input.value = next.text
    input.setSelectionRange(next.caret, next.caret)
    if (!picked.some((p) => p.id === person.id)) picked.push(person)
    close()
    input.focus()
  }

  // Capture, on the wrapper: before the box's own keys (Enter posts, Escape cancels).
  const onKeyDown = (event: KeyboardEvent) => {
    if (event.target !== input || list.hidden || options.length === 0) return
    const move = (to: number) => {
      active = (to + options.length) % options.length
      show()
    }
    switch (event.key) {
      case 'ArrowDown':
        move(active + 1)
        break
      case 'ArrowUp':
        move(active - 1)
        break
      case 'Enter':
      case 'Tab':
        pick(active)
        break
      case 'Escape':
        close()
        break
      default:
        return
    }
    event.preventDefault()
    event.stopPropagation()
  }
  const onSelectionMove = (event: KeyboardEvent) => {
    if (['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(event.key)) update()
  }

  // (One element type for the listeners: a union of two has no common overloads.)
  const box: HTMLElement = input
  element.addEventListener('keydown', onKeyDown, true)
  box.addEventListener('keyup', onSelectionMove)
  box.addEventListener('input', update)
  box.addEventListener('click', update)
  box.addEventListener('blur', close)

  return {
    element,
    mentions: () => mentionsIn(input.value, picked, people()),
    destroy() {
      element.removeEventListener('keydown', onKeyDown, true)
      box.removeEventListener('keyup', onSelectionMove)
      box.removeEventListener('input', update)
      box.removeEventListener('click', update)
      box.removeEventListener('blur', close)
    },
  }
}
