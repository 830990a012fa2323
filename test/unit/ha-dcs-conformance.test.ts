import { ManualClock } from '../../src/control/clock.js'
import { MemoryDcsStore } from '../../src/ha/dcs/memory.js'
import type { Dcs } from '../../src/ha/dcs/port.js'
import { dcsConformance } from '../conformance/dcs-suite.js'

// The DCS contract on the in-memory store, time on a ManualClock (the same suite runs on etcd in
// test/integration/ha-dcs-etcd.test.ts).
let clock = new ManualClock()
let store = new MemoryDcsStore(clock)

dcsConformance('memory', {
  fresh: async () => {
    clock = new ManualClock()
    store = new MemoryDcsStore(clock)
    const views = new Map<string, Dcs>()
    return { member: (name) => views.get(name) ?? views.set(name, store.client(name)).get(name) as Dcs }
  },
  ttlMs: 2000,
  expirySlackMs: 0,
  pass: async (ms) => {
    await clock.advance(ms)
    store.tick()
    await clock.advance(0)
  },
  close: async () => {},
})
