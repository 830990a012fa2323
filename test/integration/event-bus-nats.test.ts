import { NatsEventBus } from '../../src/events/nats-bus.js'
import { eventBusConformance } from '../conformance/event-bus-suite.js'
import { crashedConsumerTest } from '../helpers/event-bus-crash.js'
import { natsPerFile } from '../helpers/engines.js'

const nats = natsPerFile()

eventBusConformance('NATS JetStream', { create: async () => new NatsEventBus(await nats.ready), orderedPerKey: false, ackWaitMs: 500 })
crashedConsumerTest('nats', async () => await nats.ready, async () => new NatsEventBus(await nats.ready), 500)
