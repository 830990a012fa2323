import { after, before } from 'node:test'
import { TieredCache } from '../../src/cache/tiered-cache.js'
import { createCache } from '../../src/runtime/adapters.js'
import { cacheConformance } from '../conformance/cache-suite.js'
import { startRedis } from '../helpers/engines.js'

let url = ''
let stop: () => Promise<void> = async () => {}
const ready = startRedis().then((started) => {
  url = started.redis.url
  stop = started.stop
})
before(async () => { await ready })
after(async () => { await stop() })

// The suite on the Redis adapters, made as configs make them (the memory cache runs it in
// test/unit/memory-adapters.test.ts).
cacheConformance('redis', async () => { await ready; return createCache({ kind: 'redis', url, prefix: 'cache:', l1: false }) })
cacheConformance('tiered', async () => {
  await ready
  const cache = createCache({ kind: 'redis', url, prefix: 'tiered:' })
  if (cache instanceof TieredCache) await cache.ready()
  return cache
})
