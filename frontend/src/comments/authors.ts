/**
 * Names for comment authors that are not people. The server stores a thread's
 * or reply's `author` as the caller's user id; a REST caller without a user
 * gets its principal's label instead (`Principal.label`, coreport.access.model):
 * `local` on a server run with COREPORT_INSECURE_NO_AUTH, `link <prefix>` for a
 * share link with the comment role. Those are not ids anyone's name is stored
 * under, so they would show as "Someone".
 */

/** The label for a non-person author, or null when `author` is (or may be) a user id. */
export function nonPersonAuthor(author: string): string | null {
  if (author === 'local') return 'API (no sign-in)'
  const link = /^(link|embed) (\S+)$/.exec(author)
  if (link) return `Share link ${link[2]}`
  return null
}

/** What to call an author: their known name, else what they are, else "Someone". */
export function authorLabel(author: string, knownName: string | undefined): string {
  return knownName ?? nonPersonAuthor(author) ?? 'Someone'
}
