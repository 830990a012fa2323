import type { Session } from '../../../src/index.js'
import { USER_NAME } from '../accounts.js'
import { cartLinesOf } from '../cart.js'
import type { Viewer } from '../html/layout.js'

/** Who is looking, from one read of the session: the header of every dynamic page shows it. */
export async function viewerOf (session: Session): Promise<Viewer & { userId: number | undefined }> {
  const fields = await session.getAll()
  const userId = typeof fields.userId === 'number' ? fields.userId : undefined
  const name = typeof fields[USER_NAME] === 'string' ? fields[USER_NAME] : undefined
  let cartCount = 0
  for (const qty of cartLinesOf(fields).values()) cartCount += qty
  return { signedIn: userId !== undefined, userId, name, cartCount }
}

/** A path on this site to go to after a form, never another site (no open redirect). */
export function safeNext (value: unknown): string {
  return typeof value === 'string' && value.length <= 200 && /^\/(?![/\\])[\x21-\x7e]*$/.test(value) ? value : '/'
}

/** A form field as a string ('' when missing or repeated oddly). */
export function field (body: unknown, name: string): string {
  const value = body !== null && typeof body === 'object' ? (body as Record<string, unknown>)[name] : undefined
  return typeof value === 'string' ? value : ''
}
