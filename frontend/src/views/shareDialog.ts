/**
 * "Share": who has access to the report and through which links.
 *
 * Owners see two tabs: People (members with their roles; add a user, change a
 * role, remove) and Links (view or comment share links with an optional
 * expiry; a new link's address is shown once, to copy; revoke). Everyone else
 * sees their own role and what it allows. Routes: docs/security.md, "Roles".
 */

import './shareDialog.css'

import {
  ApiError,
  createEmbedLink,
  createLink,
  getMyAccess,
  listLinks,
  listMembers,
  listUsers,
  removeMember,
  revokeLink,
  setMember,
  type Member,
  type Role,
  type ShareLink,
} from '../api'
import { timeAgo } from '../relativeTime'
import { h } from './dom'
import { icon } from './icons'
import { openModal, rerenderKeepingFocus, type Modal } from './modal'
import {
  EXPIRY_CHOICES,
  LINK_ROLES,
  ROLES,
  ROLE_LABELS,
  addableUsers,
  embedLabel,
  embedSnippet,
  expiryTime,
  linkState,
  removalBlocked,
  roleSentence,
  roleChoices,
  shareUrl,
  sortLinks,
  sortMembers,
  type Expiry,
} from './roles'

export interface ShareDialogDeps {
  reportId: string
  /** The report's title as it is now. */
  title: () => string
  /** The signed-in user's id (`null` on a server without auth). */
  me: string | null
  /** Names of people this page has seen (presence), for members when the user list is not readable. */
  nameOf: (userId: string) => string | undefined
  /** The report's panels, which an embed link can show one of. */
  panels: () => Array<{ id: string; title: string }>
  opener?: HTMLElement | null
  /** Called when the dialog closes. */
  onClose?: () => void
}

const LINK_ROLE_LABELS: Partial<Record<Role, string>> = { viewer: 'Can view', commenter: 'Can comment' }

export function openShareDialog(deps: ShareDialogDeps): Modal {
  const title = deps.title().trim() || 'Untitled report'
  const modal = openModal({
    id: 'share-dialog',
    title: `Share “${title}”`,
    className: 'share-dialog',
    opener: deps.opener,
    onClose: deps.onClose,
  })
  const message = h('p', { class: 'modal__message', 'aria-live': 'polite' })
  const content = h('div', { class: 'share' }, h('p', { class: 'modal__muted' }, 'Loading…'))
  modal.body.append(content, message)

  void getMyAccess(deps.reportId).then(
    async (access) => {
      if (access.role !== 'owner') {
        content.replaceChildren(...readOnlyView(access.role))
        return
      }
      const lost = (role: Role | null) => content.replaceChildren(...readOnlyView(role))
      const view = await ownerView(deps, message, lost).catch((error: unknown) => {
        content.replaceChildren(errorLine(`Could not load who has access: ${describe(error)}`))
        return null
      })
      if (!view) return
      content.replaceChildren(view.element)
      // Move into the content unless the person already moved on from the close button.
      if (document.activeElement === modal.closeButton) view.focusFirst()
    },
    (error: unknown) => content.replaceChildren(errorLine(`Could not read your access: ${describe(error)}`)),
  )
  return modal
}

/** What a viewer, commenter or editor sees: their role and what it allows. */
function readOnlyView(role: Role | null): Node[] {
  const copy = h('button', { type: 'button', class: 'button button--small' }, icon('copy', 16), h('span', {}, 'Copy link to this report'))
  copy.addEventListener('click', () => void copyText(window.location.href, copy.querySelector('span')!, 'Link copied'))
  return [
    h('p', { class: 'share__you' }, roleSentence(role)),
    h('p', { class: 'modal__muted' }, 'Only owners can add people, change roles or make share links. Ask an owner to share the report with others.'),
    h('p', { class: 'modal__muted' }, 'People who already have access can open it at this page’s address.'),
    copy,
  ]
}

interface OwnerView {
  element: HTMLElement
  focusFirst: () => void
}

/** `onNoLongerOwner`: the person changed their own role or removed themselves. */
async function ownerView(deps: ShareDialogDeps, message: HTMLElement, onNoLongerOwner: (role: Role | null) => void): Promise<OwnerView> {
  const { reportId } = deps
  const title = deps.title().trim() || 'Untitled report'
  // Only administrators may list users; everyone else adds people by name, email or id.
  const usersRequest = listUsers().catch((error: unknown) => {
    if (error instanceof ApiError && error.status === 403) return null
    throw error
  })
  const [firstMembers, firstLinks, users] = await Promise.all([listMembers(reportId), listLinks(reportId), usersRequest])
  let members = firstMembers
  let links = firstLinks

  const say = (text: string) => {
    message.textContent = text
  }
  const nameOf = (userId: string): string => {
    const user = users?.find((u) => u.id === userId)
    return user?.name ?? deps.nameOf(userId) ?? userId
  }
  const failed = (what: string, error: unknown) => say(`${what}: ${describe(error)}`)
  /** Run one change; a failure is said in the dialog (and `undo` puts the control back). */
  const attempt = async (what: string, change: () => Promise<void>, undo?: () => void): Promise<void> => {
    try {
      await change()
    } catch (error) {
      undo?.()
      failed(what, error)
    }
  }
  /** After changing a member: re-read the list, unless that took this person's own management rights. */
  const reloadMembers = async (changed: string): Promise<boolean> => {
    if (changed === deps.me) {
      const role = await getMyAccess(reportId).then(
        (access) => access.role,
        (error: unknown) => {
          if (error instanceof ApiError && error.status === 403) return null
          throw error
        },
      )
      if (role !== 'owner') {
        onNoLongerOwner(role)
        return false
      }
    }
    members = await listMembers(reportId)
    renderMembers()
    return true
  }

  // ---- people ----
  const memberList = h('ul', { class: 'share-members', 'aria-label': 'People with access' })
  const personField = users
    ? h('select', { id: 'share-person', class: 'input', name: 'person', required: true })
    : h('input', { id: 'share-person', class: 'input', name: 'person', required: true, autocomplete: 'off', placeholder: 'name, email or user id' })
  const addRole = roleSelect('share-add-role', 'viewer', ROLE_LABELS, ROLES)
  const addButton = h('button', { type: 'submit', class: 'button button--primary button--small' }, 'Add')
  const addForm = h(
    'form',
    { class: 'share-add', 'aria-label': 'Add a person' },
    h('div', { class: 'share-add__field share-add__field--grow' }, h('label', { for: 'share-person' }, 'Person'), personField),
    h('div', { class: 'share-add__field' }, h('label', { for: 'share-add-role' }, 'Role'), addRole),
    addButton,
  )

  const renderPersonChoices = () => {
    if (!(personField instanceof HTMLSelectElement) || !users) return
    const choices = addableUsers(users, members)
    personField.replaceChildren(
      h('option', { value: '' }, choices.length ? 'Choose a person…' : 'Everyone is a member already'),
      ...choices.map((u) => h('option', { value: u.id }, u.email ? `${u.name} (${u.email})` : u.name)),
    )
    personField.disabled = choices.length === 0
  }

  const renderMembers = () =>
    rerenderKeepingFocus(
      memberList,
      () => {
        memberList.replaceChildren(
          ...sortMembers(members, nameOf).map((member) => memberRow(member)),
        )
        if (!members.length) memberList.append(h('li', { class: 'share-members__empty modal__muted' }, 'No members yet.'))
        renderPersonChoices()
      },
      () => personField,
    )

  const memberRow = (member: Member): HTMLElement => {
    const name = nameOf(member.user_id)
    const email = users?.find((u) => u.id === member.user_id)?.email
    const select = h('select', { class: 'input input--small', 'aria-label': `Role of ${name}`, 'data-focus-key': `role:${member.user_id}` })
    for (const choice of roleChoices(member, members)) {
      select.append(h('option', { value: choice.role, disabled: choice.disabled, selected: choice.role === member.role }, choice.label))
    }
    select.addEventListener('change', () => {
      const role = select.value as Role
      select.disabled = true
      void attempt(
        `Could not change ${name}’s role`,
        async () => {
          await setMember(reportId, member.user_id, role)
          say(`${name} is now ${ROLE_LABELS[role].toLowerCase()}.`)
          await reloadMembers(member.user_id)
        },
        () => {
          select.value = member.role
          select.disabled = false
        },
      )
    })
    const blocked = removalBlocked(member, members)
    const remove = h(
      'button',
      {
        type: 'button',
        class: 'icon-button share-members__remove',
        'aria-label': `Remove ${name}`,
        title: blocked ?? `Remove ${name}`,
        'aria-disabled': blocked ? 'true' : null,
        'data-focus-key': `remove:${member.user_id}`,
      },
      icon('close', 16),
    )
    remove.addEventListener('click', () => {
      if (blocked) {
        say(blocked)
        return
      }
      void attempt(`Could not remove ${name}`, async () => {
        await removeMember(reportId, member.user_id)
        say(`${name} no longer has access.`)
        await reloadMembers(member.user_id)
      })
    })
    return h(
      'li',
      { class: 'share-members__item' },
      h(
        'span',
        { class: 'share-members__who' },
        h('span', { class: 'share-members__name' }, name, member.user_id === deps.me ? h('span', { class: 'modal__muted' }, ' (you)') : null),
        email ? h('span', { class: 'share-members__email' }, email) : null,
      ),
      select,
      remove,
    )
  }

  addForm.addEventListener('submit', (event) => {
    event.preventDefault()
    const user = personField.value.trim()
    if (!user) {
      personField.focus()
      return
    }
    const role = addRole.value as Role
    addButton.disabled = true
    void attempt(`Could not add ${user}`, async () => {
      try {
        const member = await setMember(reportId, user, role).catch((error: unknown) => {
          if (error instanceof ApiError && error.status === 404) throw new Error(`there is no user “${user}”`)
          throw error
        })
        say(`Added ${nameOf(member.user_id)} as ${ROLE_LABELS[role].toLowerCase()}.`)
        if (!(await reloadMembers(member.user_id))) return
        if (personField instanceof HTMLInputElement) personField.value = ''
        personField.focus()
      } finally {
        addButton.disabled = false
      }
    })
  })

  const people = h(
    'div',
    {},
    h('h3', { class: 'modal__section-title' }, 'Add people'),
    addForm,
    h('h3', { class: 'modal__section-title' }, 'People with access'),
    memberList,
  )
  renderMembers()

  // ---- share links and embed links: the report's links, in two tabs ----
  interface Created {
    url: string
    label: string
    /** HTML to paste into another page (embed links). */
    snippet?: string
  }
  interface LinkSectionOptions {
    id: string
    title: string
    hint: string
    formLabel: string
    submitLabel: string
    listLabel: string
    empty: string
    /** The form's own fields (the expiry is added after them). */
    fields: HTMLElement[]
    shows: (link: ShareLink) => boolean
    describe: (link: ShareLink) => string
    create: (expiresAt: string | null) => Promise<Created>
  }

  const sections: Array<() => void> = []
  const reloadLinks = async () => {
    links = await listLinks(reportId)
    for (const render of sections) render()
  }

  const linkSection = (options: LinkSectionOptions): HTMLElement => {
    const list = h('ul', { class: 'share-links', 'aria-label': options.listLabel })
    const expiry = h(
      'select',
      { id: `${options.id}-expiry`, class: 'input' },
      ...EXPIRY_CHOICES.map((choice) => h('option', { value: choice.value }, choice.label)),
    )
    const submit = h('button', { type: 'submit', class: 'button button--primary button--small' }, options.submitLabel)
    const form = h(
      'form',
      { class: 'share-add', 'aria-label': options.formLabel },
      ...options.fields,
      h('div', { class: 'share-add__field' }, h('label', { for: `${options.id}-expiry` }, 'Expiry'), expiry),
      submit,
    )
    const created = h('div', { class: 'share-created', hidden: true })

    const row = (link: ShareLink, now: Date): HTMLElement => {
      const state = linkState(link, now)
      const facts = [`created ${timeAgo(Date.parse(link.created_at), now.getTime())}`]
      // A revoked link says so in its state instead of a Revoke button.
      if (state !== 'revoked') facts.push(link.expires_at ? `${state === 'expired' ? 'expired' : 'expires'} ${formatDate(link.expires_at)}` : 'never expires')
      const revoke = h(
        'button',
        { type: 'button', class: 'button button--small button--ghost button--danger', 'aria-label': `Revoke link ${link.prefix}`, 'data-focus-key': `revoke:${link.prefix}` },
        'Revoke',
      )
      revoke.addEventListener('click', () => {
        void attempt('Could not revoke the link', async () => {
          await revokeLink(reportId, link.prefix)
          say(`Link ${link.prefix} revoked: it no longer opens the report.`)
          await reloadLinks()
        })
      })
      return h(
        'li',
        { class: `share-links__item share-links__item--${state}` },
        h(
          'span',
          { class: 'share-links__what' },
          h('span', { class: 'share-links__role' }, options.describe(link)),
          h('code', { class: 'share-links__prefix' }, link.prefix),
          h('span', { class: 'share-links__facts' }, facts.join(' · ')),
        ),
        state === 'active' ? revoke : h('span', { class: 'share-links__state' }, state === 'revoked' ? 'Revoked' : 'Expired'),
      )
    }
    const render = () =>
      rerenderKeepingFocus(
        list,
        () => {
          const now = new Date()
          const mine = sortLinks(links.filter(options.shows), now)
          list.replaceChildren(...mine.map((link) => row(link, now)))
          if (!mine.length) list.append(h('li', { class: 'modal__muted' }, options.empty))
        },
        () => expiry,
      )
    sections.push(render)

    const showCreated = (made: Created) => {
      const urlId = `${options.id}-created-url`
      const input = h('input', { id: urlId, class: 'input share-created__url', readonly: true, value: made.url, spellcheck: 'false' })
      input.addEventListener('focus', () => input.select())
      const copy = h('button', { type: 'button', class: 'button button--small', 'aria-label': 'Copy link address' }, icon('copy', 16), h('span', {}, 'Copy'))
      copy.addEventListener('click', () => void copyText(made.url, copy.querySelector('span')!, 'Copied'))
      created.replaceChildren(h('label', { for: urlId }, made.label), h('div', { class: 'share-created__row' }, input, copy))
      if (made.snippet) {
        const snippetId = `${options.id}-created-snippet`
        const snippet = h('textarea', { id: snippetId, class: 'input share-created__url', readonly: true, rows: 3, spellcheck: 'false' }, made.snippet)
        snippet.addEventListener('focus', () => snippet.select())
        const copySnippet = h('button', { type: 'button', class: 'button button--small', 'aria-label': 'Copy embed code' }, icon('copy', 16), h('span', {}, 'Copy'))
        copySnippet.addEventListener('click', () => void copyText(made.snippet!, copySnippet.querySelector('span')!, 'Copied'))
        created.append(h('label', { for: snippetId }, 'Embed code for another page'), h('div', { class: 'share-created__row' }, snippet, copySnippet))
      }
      created.hidden = false
      copy.focus()
    }

    form.addEventListener('submit', (event) => {
      event.preventDefault()
      submit.disabled = true
      void attempt('Could not create the link', async () => {
        try {
          const made = await options.create(expiryTime(expiry.value as Expiry, new Date()))
          showCreated(made)
          say(`${made.label}.`)
          await reloadLinks()
        } finally {
          submit.disabled = false
        }
      })
    })
    render()
    return h(
      'div',
      {},
      h('h3', { class: 'modal__section-title' }, options.title),
      h('p', { class: 'modal__muted share__hint' }, options.hint),
      form,
      created,
      h('h3', { class: 'modal__section-title' }, options.listLabel),
      list,
    )
  }

  const linkRole = roleSelect('share-link-role', 'viewer', LINK_ROLE_LABELS, LINK_ROLES)
  const linksPanel = linkSection({
    id: 'share-link',
    title: 'New share link',
    hint: 'Anyone with the link can open this report with the access it grants, until it expires or is revoked.',
    formLabel: 'Create a share link',
    submitLabel: 'Create link',
    listLabel: 'Share links',
    empty: 'No share links yet.',
    fields: [h('div', { class: 'share-add__field' }, h('label', { for: 'share-link-role' }, 'Access'), linkRole)],
    shows: (link) => !link.embed,
    describe: (link) => LINK_ROLE_LABELS[link.role] ?? ROLE_LABELS[link.role],
    create: async (expiresAt) => {
      const role = linkRole.value as Role
      const link = await createLink(reportId, role, expiresAt)
      return {
        url: shareUrl(window.location.origin, reportId, link.token),
        label: `New link (${LINK_ROLE_LABELS[role]?.toLowerCase() ?? role}), shown only once: copy it now`,
      }
    },
  })

  const panelTitles = new Map(deps.panels().map((panel) => [panel.id, panel.title]))
  const embedTarget = h(
    'select',
    { id: 'share-embed-target', class: 'input' },
    h('option', { value: '' }, 'The whole report'),
    ...[...panelTitles].map(([id, title]) => h('option', { value: id }, `Panel: ${title}`)),
  )
  const embedPanel = linkSection({
    id: 'share-embed',
    title: 'New embed link',
    hint: 'An embed link shows one panel, or the whole report, read-only and live, inside another page (a wiki, a dashboard). It cannot open the editor.',
    formLabel: 'Create an embed link',
    submitLabel: 'Create embed link',
    listLabel: 'Embed links',
    empty: 'No embed links yet.',
    fields: [h('div', { class: 'share-add__field share-add__field--grow' }, h('label', { for: 'share-embed-target' }, 'Show'), embedTarget)],
    shows: (link) => Boolean(link.embed),
    describe: (link) => embedLabel(link.embed, panelTitles),
    create: async (expiresAt) => {
      const panelId = embedTarget.value || null
      const link = await createEmbedLink(reportId, panelId, expiresAt)
      return {
        url: link.url,
        label: `New embed link (${embedLabel(link.embed, panelTitles).toLowerCase()}), shown only once: copy it now`,
        snippet: embedSnippet(link.url, panelId ? (panelTitles.get(panelId) ?? title) : title),
      }
    },
  })

  const tabs = createTabs('share', [
    { id: 'people', label: 'People', panel: people },
    { id: 'links', label: 'Links', panel: linksPanel },
    { id: 'embed', label: 'Embed', panel: embedPanel },
  ])
  return { element: tabs.element, focusFirst: () => personField.focus() }
}

// ---- small parts ----

function roleSelect(id: string, selected: Role, labels: Partial<Record<Role, string>>, roles: readonly Role[]): HTMLSelectElement {
  return h('select', { id, class: 'input' }, ...roles.map((role) => h('option', { value: role, selected: role === selected }, labels[role] ?? role)))
}

interface Tab {
  id: string
  label: string
  panel: HTMLElement
}

/** WAI-ARIA tabs: one tab stop, arrows (and Home/End) move between tabs and show their panel. */
export function createTabs(prefix: string, tabs: Tab[]): { element: HTMLElement } {
  const buttons = tabs.map((tab, index) =>
    h(
      'button',
      {
        type: 'button',
        role: 'tab',
        id: `${prefix}-tab-${tab.id}`,
        class: 'tabs__tab',
        'aria-controls': `${prefix}-panel-${tab.id}`,
        'aria-selected': String(index === 0),
        tabindex: index === 0 ? 0 : -1,
      },
      tab.label,
    ),
  )
  const panels = tabs.map((tab, index) => {
    tab.panel.id = `${prefix}-panel-${tab.id}`
    tab.panel.setAttribute('role', 'tabpanel')
    tab.panel.setAttribute('aria-labelledby', `${prefix}-tab-${tab.id}`)
    tab.panel.classList.add('tabs__panel')
    tab.panel.hidden = index !== 0
    return tab.panel
  })
  const select = (index: number, focus: boolean) => {
    buttons.forEach((button, i) => {
      button.setAttribute('aria-selected', String(i === index))
      button.tabIndex = i === index ? 0 : -1
      panels[i].hidden = i !== index
    })
    if (focus) buttons[index].focus()
  }
  buttons.forEach((button, index) => button.addEventListener('click', () => select(index, false)))
  const list = h('div', { role: 'tablist', class: 'tabs__list' }, ...buttons)
  list.addEventListener('keydown', (event) => {
    const index = buttons.indexOf(document.activeElement as HTMLButtonElement)
    if (index < 0) return
    const next = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: buttons.length - 1 }[event.key]
    if (next === undefined) return
    event.preventDefault()
    select((next + buttons.length) % buttons.length, true)
  })
  return { element: h('div', { class: 'tabs' }, list, ...panels) }
}

async function copyText(text: string, label: HTMLElement, done: string): Promise<void> {
  const original = label.textContent
  try {
    await navigator.clipboard.writeText(text)
    label.textContent = done
  } catch {
    label.textContent = 'Copy failed: select and copy by hand'
  }
  window.setTimeout(() => {
    label.textContent = original
  }, 1500)
}

function errorLine(text: string): HTMLElement {
  return h('p', { class: 'modal__error', role: 'alert' }, text)
}

function describe(error: unknown): string {
  if (error instanceof ApiError) return error.status === 403 ? 'only owners may do this' : error.message
  return error instanceof Error ? error.message : String(error)
}

function formatDate(iso: string): string {
  return new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso))
}
