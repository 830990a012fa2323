import type { Session, WritePosition } from '../../src/index.js'

/** The session field holding the newest write position its user must read. */
export const LAST_WRITE = 'lastWrite'

/**
 * Remembers a write the session's user must see on later reads. An atomic max: of two
 * concurrent requests, the one that finishes last must not replace a newer position with its own.
 */
export async function rememberWrite (session: Session, position: WritePosition): Promise<void> {
  await session.max(LAST_WRITE, position)
}

/** The position reads of this session must have seen (undefined: any replica will do). */
export async function lastWrite (session: Session): Promise<WritePosition | undefined> {
  return await session.get<WritePosition>(LAST_WRITE)
}
