/** The sign-in page: paste an API key, get a session cookie. */

import { ApiError } from '../api'
import { signIn, type Account } from '../auth'
import { h } from './dom'

export interface SignInDeps {
  /** Why we are here ("Your session ended", ...); shown above the form. */
  reason?: string
  onSignedIn: (account: Account) => void
}

export function renderSignIn(root: HTMLElement, deps: SignInDeps): () => void {
  document.title = 'Sign in · coreport'
  const input = h('input', {
    id: 'signin-key',
    class: 'input',
    type: 'password',
    name: 'key',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
    placeholder: 'cpk_…',
    'aria-describedby': 'signin-help',
  })
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true })
  const submit = h('button', { type: 'submit', class: 'button button--primary' }, 'Sign in')
  const form = h(
    'form',
    { class: 'signin', 'aria-labelledby': 'signin-heading' },
    h('h1', { id: 'signin-heading' }, 'Sign in to coreport'),
    deps.reason ? h('p', { class: 'signin__reason' }, deps.reason) : null,
    h('label', { for: 'signin-key' }, 'API key'),
    input,
    h(
      'p',
      { id: 'signin-help', class: 'signin__help' },
      'Paste a key from ',
      h('code', {}, 'coreport users add NAME'),
      ' or ',
      h('code', {}, 'coreport keys create NAME'),
      ', or open the one-time link ',
      h('code', {}, 'coreport serve'),
      ' prints.',
    ),
    error,
    submit,
  )
  const onSubmit = async (event: SubmitEvent) => {
    event.preventDefault()
    error.hidden = true
    submit.disabled = true
    try {
      const account = await signIn(input.value)
      deps.onSignedIn(account)
    } catch (caught) {
      error.textContent =
        caught instanceof ApiError && caught.status === 401
          ? 'That key is not valid, has expired or was revoked.'
          : `Could not sign in: ${caught instanceof Error ? caught.message : String(caught)}`
      error.hidden = false
      submit.disabled = false
      input.focus()
    }
  }
  form.addEventListener('submit', (event) => void onSubmit(event))
  root.replaceChildren(
    h('header', { class: 'topbar' }, h('a', { href: '/', class: 'brand' }, 'coreport')),
    h('main', { class: 'home', id: 'main' }, form),
  )
  input.focus()
  return () => undefined
}

/** The signed-in person and a sign-out button, for the top bar. */
export function accountChip(name: string, onSignOut: () => void): HTMLElement {
  const button = h('button', { type: 'button', class: 'button button--ghost button--small' }, 'Sign out')
  button.addEventListener('click', onSignOut)
  return h('div', { class: 'account', 'aria-label': 'Account' }, h('span', { class: 'account__name', title: 'Signed in' }, name), button)
}
