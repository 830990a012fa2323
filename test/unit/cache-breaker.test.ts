import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CacheBreaker, type BreakerState } from '../../src/cache/breaker.js'
import { RedisCache } from '../../src/cache/redis-cache.js'
import { adapterLog } from '../../src/runtime/log.js'
import { registry } from '../../src/runtime/metrics.js'
import { freePort } from '../../src/supervisor/free-port.js'

adapterLog.level = 'silent'

function breakerAt (clock: { now: number }, changes: BreakerState[] = []): CacheBreaker {
  return new CacheBreaker({ failures: 3, openMs: 1000, now: () => clock.now, onChange: (s) => { changes.push(s) } })
}

test('consecutive failures open the breaker; a success in between starts the count again', () => {
  const clock = { now: 0 }
  const breaker = breakerAt(clock)
  breaker.failure()
  breaker.failure()
  breaker.success()
  breaker.failure()
  breaker.failure()
  assert.equal(breaker.state, 'closed')
  assert.equal(breaker.allow(), true)
  breaker.failure()
  assert.equal(breaker.state, 'open')
  assert.equal(breaker.allow(), false, 'open: Redis is not asked')
})

test('after openMs one probe goes through (half-open): its success closes the breaker, its failure opens it again', () => {
  const clock = { now: 0 }
  const changes: BreakerState[] = []
  const breaker = breakerAt(clock, changes)
  for (let i = 0; i < 3; i++) breaker.failure()
  clock.now = 999
  assert.equal(breaker.allow(), false)
  clock.now = 1000
  assert.equal(breaker.allow(), true, 'the probe')
  assert.equal(breaker.state, 'half-open')
  assert.equal(breaker.allow(), false, 'one probe at a time')
  breaker.failure()
  assert.equal(breaker.state, 'open')
  clock.now = 1999
  assert.equal(breaker.allow(), false, 'open again for another openMs')
  clock.now = 2000
  assert.equal(breaker.allow(), true)
  breaker.success()
  assert.equal(breaker.state, 'closed')
  assert.equal(breaker.allow(), true)
  assert.deepEqual(changes, ['open', 'half-open', 'open', 'half-open', 'closed'])
})

test('a Redis cache whose Redis is gone fails open: gets are misses, sets and deletes never throw, degraded once the breaker opens', async (t) => {
  const cache = new RedisCache(`redis://127.0.0.1:${await freePort()}`, 'cache:', { breaker: { failures: 3, openMs: 60_000 } })
  t.after(async () => { await cache.close() })
  assert.deepEqual(cache.degradedParts(), [])
  for (let i = 0; i < 3; i++) assert.equal(await cache.get('product:1'), undefined)
  assert.deepEqual(cache.degradedParts(), ['cache'])
  const degraded = (await registry.getSingleMetric('outgrow_cache_degraded')?.get())?.values[0]?.value
  assert.equal(degraded, 1)
  await cache.set('product:1', { id: 1 }, 60)
  await cache.delete('product:1')
  await cache.invalidateTags('products')
  assert.deepEqual(await cache.wrap('product:2', 60, async () => ({ id: 2 })), { id: 2 }, 'loaded from the database')
})
