import { request } from 'undici'
import { OutgrowError } from '../errors/index.js'
import { updateCookie } from './open-loop.js'
import type { VirtualUser } from './user-mix.js'

const TRIES = 5
/** A login answered this quickly leaves room for one more at once. */
const QUICK_LOGIN_MS = 1000

/**
 * Logs in the seeded users user1…userN (a few at a time) and keeps their session cookies. A 5xx
 * is retried (up to 5 tries), after a pause that grows with each try (`retryPauseMs` × try): a
 * login hashes with scrypt, seconds of CPU on a server of a fraction of a core (3.7 s for one on an
 * idle quarter-core instance), and a gateway may time one out while the server goes on hashing it.
 * Retrying at once piles another hash on top of that one, and every try then times out the same
 * way. So the logins start one at a time and go up to `concurrency` at once only while each answers
 * within a second; after a 5xx they go one at a time again, and a login keeps its turn through its
 * pause (at least as long as the failed try took): the server finishes the hashes it was given
 * before it gets another.
 */
export async function loginUsers (url: string, count: number, password: string, concurrency = 4, retryPauseMs = 2000): Promise<VirtualUser[]> {
  const users: VirtualUser[] = Array.from({ length: count }, (_, i) => ({ email: `user${i + 1}@example.com`, cookie: '', cartItems: 0 }))
  let next = 0
  let limit = 1
  let failed = false
  let active = 0
  const waiting: Array<() => void> = []
  const takeTurn = async (): Promise<void> => {
    while (active >= limit) await new Promise<void>((resolve) => { waiting.push(resolve) })
    active++
  }
  const endTurn = (): void => {
    active--
    waiting.shift()?.()
  }
  const worker = async (): Promise<void> => {
    while (next < users.length) {
      const user = users[next++] as VirtualUser
      await takeTurn()
      try {
        let response
        let text = ''
        for (let attempt = 1; ; attempt++) {
          const startedAt = Date.now()
          response = await request(`${url}/api/login`, {
            method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: user.email, password }),
          })
          text = await response.body.text()
          const tookMs = Date.now() - startedAt
          if (response.statusCode < 500) {
            if (!failed && tookMs < QUICK_LOGIN_MS && limit < concurrency) limit++
            break
          }
          failed = true
          limit = 1
          if (attempt >= TRIES) break
          await new Promise((resolve) => setTimeout(resolve, Math.max(retryPauseMs * attempt, tookMs)))
        }
        if (response.statusCode !== 200) throw new OutgrowError('OUTGROW_UNAUTHENTICATED', `login of ${user.email} failed (${response.statusCode}): ${text}`)
        updateCookie(user, response.headers['set-cookie'])
      } finally {
        endTurn()
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
  return users
}
