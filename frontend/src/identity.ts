/**
 * Who "you" are until sign-in exists: a random, friendly name and a colour,
 * remembered in localStorage so reloads and other reports show the same person.
 */

export interface Identity {
  /** Stable per browser; lets presence merge several tabs of one person. */
  id: string
  name: string
  /** `#rrggbb`: the collaboration caret only accepts six-digit hex colours. */
  color: string
}

export const IDENTITY_KEY = 'coreport.identity'

const ADJECTIVES = [
  'Anonymous', 'Brave', 'Calm', 'Clever', 'Curious', 'Eager', 'Gentle', 'Happy',
  'Jolly', 'Keen', 'Lucky', 'Merry', 'Nimble', 'Patient', 'Quiet', 'Swift', 'Witty',
]
const ANIMALS = [
  'Otter', 'Badger', 'Heron', 'Lynx', 'Fox', 'Owl', 'Panda', 'Koala', 'Falcon',
  'Beaver', 'Dolphin', 'Hedgehog', 'Penguin', 'Walrus', 'Marten', 'Ibex', 'Puffin',
]
/** Mid-dark colours: white initials on them stay readable (WCAG AA for large text). */
export const COLORS = [
  '#d6336c', '#ae3ec9', '#7048e8', '#4263eb', '#1c7ed6', '#0c8599',
  '#099268', '#2f9e44', '#e8590c', '#c92a2a', '#5c940d', '#862e9c',
]

export function randomIdentity(random: () => number = Math.random): Identity {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]
  const id = Array.from({ length: 12 }, () => Math.floor(random() * 36).toString(36)).join('')
  return { id, name: `${pick(ADJECTIVES)} ${pick(ANIMALS)}`, color: pick(COLORS) }
}

/** The remembered identity, or a new one that is remembered from now on. */
export function loadIdentity(storage: Storage, random: () => number = Math.random): Identity {
  const raw = storage.getItem(IDENTITY_KEY)
  if (raw !== null) {
    try {
      const parsed: unknown = JSON.parse(raw)
      if (isIdentity(parsed)) return parsed
    } catch (error) {
      console.warn('coreport: replacing unreadable identity', error)
    }
  }
  const identity = randomIdentity(random)
  storage.setItem(IDENTITY_KEY, JSON.stringify(identity))
  return identity
}

export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean)
  if (words.length === 0) return '?'
  // Two letters (first and last word) tell "Brave Otter" from "Brave Owl" at a glance.
  const letter = (w: string) => Array.from(w)[0]?.toUpperCase() ?? ''
  return words.length === 1 ? letter(words[0]) : letter(words[0]) + letter(words[words.length - 1])
}

function isIdentity(value: unknown): value is Identity {
  if (typeof value !== 'object' || value === null) return false
  const v = value as Record<string, unknown>
  return (
    typeof v.id === 'string' &&
    v.id.length > 0 &&
    typeof v.name === 'string' &&
    v.name.trim().length > 0 &&
    typeof v.color === 'string' &&
    /^#[0-9a-fA-F]{6}$/.test(v.color)
  )
}
