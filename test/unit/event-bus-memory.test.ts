import type { EventBus } from '../../src/events/bus.js'
import { MemoryEventBus } from '../../src/events/memory-bus.js'
import { eventBusConformance } from '../conformance/event-bus-suite.js'

eventBusConformance('in-process', {
  create: async () => new MemoryEventBus(),
  orderedPerKey: true,
  ackWaitMs: 500,
  // One process holds the bus: a second member is the same bus, closed with it.
  peer: async (bus): Promise<EventBus> => ({
    publish: bus.publish.bind(bus),
    subscribe: bus.subscribe.bind(bus),
    close: async () => {},
  }),
})
