/**
 * Same-origin REST calls: the session cookie goes along by itself; writes add
 * the CSRF token the server asks for (docs/security.md, "Browser protections").
 * A 401 anywhere means "signed out": listeners (the app shell) show sign-in.
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
const CSRF_COOKIE = 'coreport_csrf'

let csrfToken: string | null = null
const unauthorizedListeners = new Set<() => void>()

/** Remember the token `POST|GET /api/session` returned (the cookie holds the same). */
export function setCsrfToken(token: string | null): void {
  csrfToken = token
}

/** Called whenever the server answers 401 (signed out, session expired or revoked). */
export function onUnauthorized(listener: () => void): () => void {
  unauthorizedListeners.add(listener)
  return () => unauthorizedListeners.delete(listener)
}

export function notifyUnauthorized(): void {
  for (const listener of [...unauthorizedListeners]) listener()
}

/** The value of a readable cookie in `cookieHeader` (`document.cookie`). */
export function readCookie(cookieHeader: string, name: string): string | null {
  for (const part of cookieHeader.split(';')) {
    const [key, ...rest] = part.trim().split('=')
    if (key === name) return decodeURIComponent(rest.join('='))
  }
  return null
}

function currentCsrf(): string | null {
  return readCookie(document.cookie, CSRF_COOKIE) ?? csrfToken
}

export interface RequestOptions {
  body?: unknown
  /** Do not announce a 401 (the sign-in form's own call). */
  quiet401?: boolean
  signal?: AbortSignal
}

export async function api<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' }
  if (options.body !== undefined) headers['content-type'] = 'application/json'
  if (WRITES.has(method)) {
    const token = currentCsrf()
    if (token) headers['x-csrf-token'] = token
  }
  const response = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: options.signal,
  })
  if (response.status === 401 && !options.quiet401) notifyUnauthorized()
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`
    try {
      const data = (await response.json()) as { error?: unknown }
      if (typeof data.error === 'string') message = data.error
    } catch {
      // Not JSON: the status line is the message.
    }
    throw new ApiError(response.status, message)
  }
  if (response.status === 204) return undefined as T
  return (await response.json()) as T
}
