import { before } from 'node:test'
import { BullMqQueue } from '../../src/jobs/bullmq-queue.js'
import { RedisNotices } from '../../src/notices/redis-notices.js'
import { RedisRateLimiter } from '../../src/limits/redis-limiter.js'
import { RedisSessionStore } from '../../src/session/redis-store.js'
import { jobQueueConformance } from '../conformance/jobs-suite.js'
import { noticesConformance } from '../conformance/notices-suite.js'
import { rateLimiterConformance } from '../conformance/rate-limiter-suite.js'
import { sessionStoreConformance } from '../conformance/session-suite.js'
import { redisPerFile } from '../helpers/engines.js'

let url = ''
const ready = redisPerFile().ready.then((started) => { url = started })
before(async () => { await ready })

// The cache adapters' suite runs in cache-conformance.test.ts.
sessionStoreConformance('redis', async () => { await ready; return new RedisSessionStore(url, 3600) })
rateLimiterConformance('redis', async () => { await ready; return new RedisRateLimiter(url) })
let queueCount = 0
jobQueueConformance('bullmq', async (retention) => { await ready; return new BullMqQueue(url, `conformance-${++queueCount}`, 2, retention) },
  async (count) => { await ready; const shared = `conformance-${++queueCount}`; return Array.from({ length: count }, () => new BullMqQueue(url, shared, 2)) })
noticesConformance('redis', async () => { await ready; return new RedisNotices(url) })
