import { request } from 'undici'
import { OutgrowError } from '../errors/index.js'
import { updateCookie } from './open-loop.js'
import type { VirtualUser } from './user-mix.js'

const TRIES = 5

/**
 * Logs in the seeded users user1…userN (a few at a time) and keeps their session cookies. A 5xx
 * is retried (up to 5 tries), after a pause that grows with each try (`retryPauseMs` × try): a
 * login hashes with scrypt, seconds of CPU on a server of a fraction of a core, and a gateway may
 * time one out while the server goes on hashing it. Retrying at once piles another hash on top
 * of that one, and every try then times out the same way.
 */
export async function loginUsers (url: string, count: number, password: string, concurrency = 4, retryPauseMs = 2000): Promise<VirtualUser[]> {
  const users: VirtualUser[] = Array.from({ length: count }, (_, i) => ({ email: `user${i + 1}@example.com`, cookie: '', cartItems: 0 }))
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < users.length) {
      const user = users[next++] as VirtualUser
      let response
      let text = ''
      for (let attempt = 1; ; attempt++) {
        response = await request(`${url}/api/login`, {
          method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: user.email, password }),
        })
        text = await response.body.text()
        if (response.statusCode < 500 || attempt >= TRIES) break
        await new Promise((resolve) => setTimeout(resolve, retryPauseMs * attempt))
      }
      if (response.statusCode !== 200) throw new OutgrowError('OUTGROW_UNAUTHENTICATED', `login of ${user.email} failed (${response.statusCode}): ${text}`)
      updateCookie(user, response.headers['set-cookie'])
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
  return users
}
