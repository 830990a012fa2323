import { after, before } from 'node:test'
import { BullMqQueue } from '../../src/jobs/bullmq-queue.js'
import { RedisRateLimiter } from '../../src/limits/redis-limiter.js'
import { RedisSessionStore } from '../../src/session/redis-store.js'
import { jobQueueConformance } from '../conformance/jobs-suite.js'
import { rateLimiterConformance } from '../conformance/rate-limiter-suite.js'
import { sessionStoreConformance } from '../conformance/session-suite.js'
import { startRedis } from '../helpers/engines.js'

let url = ''
let stop: () => Promise<void> = async () => {}
const ready = startRedis().then((started) => {
  url = started.redis.url
  stop = started.stop
})
before(async () => { await ready })
after(async () => { await stop() })

// The cache adapters' suite runs in cache-conformance.test.ts.
sessionStoreConformance('redis', async () => { await ready; return new RedisSessionStore(url, 3600) })
rateLimiterConformance('redis', async () => { await ready; return new RedisRateLimiter(url) })
let queueCount = 0
jobQueueConformance('bullmq', async (retention) => { await ready; return new BullMqQueue(url, `conformance-${++queueCount}`, 2, retention) })
