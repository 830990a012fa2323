import { before } from 'node:test'
import { TieredCache } from '../../src/cache/tiered-cache.js'
import { createCache } from '../../src/runtime/adapters.js'
import { cacheConformance } from '../conformance/cache-suite.js'
import { redisPerFile } from '../helpers/engines.js'

let url = ''
const ready = redisPerFile().ready.then((started) => { url = started })
before(async () => { await ready })

// The suite on the Redis adapters, made as configs make them (the memory cache runs it in
// test/unit/memory-adapters.test.ts).
cacheConformance('redis', async () => { await ready; return createCache({ kind: 'redis', url, prefix: 'cache:', l1: false }) })
cacheConformance('tiered', async () => {
  await ready
  const cache = createCache({ kind: 'redis', url, prefix: 'tiered:' })
  if (cache instanceof TieredCache) await cache.ready()
  return cache
})
