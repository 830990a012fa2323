import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import type { RateLimiter } from '../../src/runtime/ports.js'

const limit = { max: 3, windowSeconds: 60 }

/** One behaviour for every rate limiter adapter. */
export function rateLimiterConformance (name: string, make: () => Promise<RateLimiter & { close(): Promise<void> }>): void {
  describe(`rate limiter conformance: ${name}`, () => {
    let limiter: RateLimiter & { close(): Promise<void> }
    const ready = (async () => { limiter = await make() })()
    after(async () => { await limiter.close() })

    it('allows max attempts per window, then refuses with the time left', async () => {
      await ready
      for (let i = 1; i <= 3; i++) assert.deepEqual(await limiter.hit('a', limit), { allowed: true, count: i, retryAfterSeconds: 0 })
      const refused = await limiter.hit('a', limit)
      assert.equal(refused.allowed, false)
      assert.equal(refused.count, 4)
      assert.ok(refused.retryAfterSeconds >= 1 && refused.retryAfterSeconds <= 60, String(refused.retryAfterSeconds))
      assert.equal((await limiter.hit('other', limit)).allowed, true, 'keys are independent')
    })

    it('refund takes one attempt back, never below zero', async () => {
      await ready
      await limiter.refund('b')
      assert.equal((await limiter.hit('b', limit)).count, 1, 'a refund before any attempt counts nothing')
      await limiter.hit('b', limit)
      await limiter.refund('b')
      assert.equal((await limiter.hit('b', limit)).count, 2)
    })

    it('reset forgets the attempts', async () => {
      await ready
      for (let i = 0; i < 4; i++) await limiter.hit('c', limit)
      await limiter.reset('c')
      assert.deepEqual(await limiter.hit('c', limit), { allowed: true, count: 1, retryAfterSeconds: 0 })
    })

    it('concurrent attempts are all counted: exactly max of them are allowed', async () => {
      await ready
      const decisions = await Promise.all(Array.from({ length: 40 }, async () => await limiter.hit('d', { max: 10, windowSeconds: 60 })))
      assert.equal(decisions.filter((d) => d.allowed).length, 10)
    })

    it('a new window starts after the old one ends', async () => {
      await ready
      const short = { max: 1, windowSeconds: 1 }
      await limiter.hit('e', short)
      assert.equal((await limiter.hit('e', short)).allowed, false)
      await new Promise((resolve) => setTimeout(resolve, 1100))
      assert.deepEqual(await limiter.hit('e', short), { allowed: true, count: 1, retryAfterSeconds: 0 })
    })
  })
}
