import { NatsEventBus } from '../../src/events/nats-bus.js'
import { RedisEventBus } from '../../src/events/redis-bus.js'

/**
 * A consumer in a process of its own, to be killed with SIGKILL mid-handling: it joins `group` on
 * `topic`, reports each event it starts on over IPC, and never finishes one.
 * argv: redis|nats <url> <topic> <group> <ackWaitMs>
 */
const [kind, url, topic, group, ackWaitMs] = process.argv.slice(2) as [string, string, string, string, string]
const bus = kind === 'nats' ? new NatsEventBus(url) : new RedisEventBus(url)
await bus.subscribe(topic, group, async (event) => {
  process.send?.({ handling: event.id, deliveries: event.deliveries })
  await new Promise(() => {})
}, { ackWaitMs: Number(ackWaitMs) })
process.send?.({ subscribed: true })
// Ends with its parent at the latest.
process.on('disconnect', () => { process.exit(0) })
