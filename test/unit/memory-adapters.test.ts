import { MemoryCache } from '../../src/cache/memory-cache.js'
import { InProcessQueue } from '../../src/jobs/inprocess-queue.js'
import { MemoryNotices } from '../../src/notices/memory-notices.js'
import { MemoryRateLimiter } from '../../src/limits/memory-limiter.js'
import { MemorySessionStore } from '../../src/session/memory-store.js'
import { cacheConformance } from '../conformance/cache-suite.js'
import { jobQueueConformance } from '../conformance/jobs-suite.js'
import { noticesConformance } from '../conformance/notices-suite.js'
import { rateLimiterConformance } from '../conformance/rate-limiter-suite.js'
import { sessionStoreConformance } from '../conformance/session-suite.js'

cacheConformance('memory', async () => new MemoryCache(1000))
sessionStoreConformance('memory', async () => new MemorySessionStore(3600))
jobQueueConformance('inprocess', async (retention) => new InProcessQueue(2, retention))
rateLimiterConformance('memory', async () => new MemoryRateLimiter())
// One process: every handle is the same store.
const notices = new MemoryNotices()
noticesConformance('memory', async () => notices)
