import { RedisEventBus } from '../../src/events/redis-bus.js'
import { eventBusConformance } from '../conformance/event-bus-suite.js'
import { crashedConsumerTest } from '../helpers/event-bus-crash.js'
import { redisPerFile } from '../helpers/engines.js'

const redis = redisPerFile()

eventBusConformance('Redis Streams', { create: async () => new RedisEventBus(await redis.ready), orderedPerKey: false, ackWaitMs: 500 })
crashedConsumerTest('redis', async () => await redis.ready, async () => new RedisEventBus(await redis.ready), 500)
