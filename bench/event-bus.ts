/**
 * Event bus: publish → consume latency (p50, p99) and throughput per adapter, at a sustained rate
 * and flat out, in one run, beside the raw clients as anchors (ioredis XADD / XREADGROUP / XACK,
 * NATS JetStream publish / consume / ack) on the same servers. One process publishes and
 * consumes, so latency is one clock: the publish call's start to the handler's start.
 * Writes docs/benchmarks/event-bus.md (and .json).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as hdr from 'hdr-histogram-js'
import { AckPolicy, DeliverPolicy, RetentionPolicy, StorageType, jetstream, jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import type { EventBus } from '../src/events/bus.js'
import { MemoryEventBus } from '../src/events/memory-bus.js'
import { NatsEventBus } from '../src/events/nats-bus.js'
import { RedisEventBus } from '../src/events/redis-bus.js'
import { describeMachine } from '../src/lab/machine.js'
import { createRedisClient } from '../src/runtime/redis-client.js'
import { freePort } from '../src/supervisor/free-port.js'
import { NatsServer } from '../src/supervisor/engines/nats.js'
import { RedisServer } from '../src/supervisor/engines/redis.js'

const FLAT_OUT_EVENTS = 5000
const IN_FLIGHT_PUBLISHES = 64
const CONSUMER_CONCURRENCY = 64
const SUSTAINED_RATE = 500
const SUSTAINED_SECONDS = 5

/** What a system under test offers the driver: publish one payload; consume calls back `onEvent(payload)`. */
interface System {
  readonly name: string
  readonly anchorOf?: string
  setUp(topic: string, onEvent: (sentAt: number) => void): Promise<{ publish: (sentAt: number) => Promise<void>, close: () => Promise<void> }>
}

interface Result { readonly mode: string, readonly events: number, readonly seconds: number, readonly perSecond: number, readonly p50Ms: number, readonly p99Ms: number, readonly maxMs: number }

function histogram (): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 })
}

async function measure (system: System, mode: 'flat out' | 'sustained'): Promise<Result> {
  const latencies = histogram()
  let consumed = 0
  const total = mode === 'flat out' ? FLAT_OUT_EVENTS : SUSTAINED_RATE * SUSTAINED_SECONDS
  let allConsumed: () => void = () => {}
  const done = new Promise<void>((resolve) => { allConsumed = resolve })
  const topic = `bench.${mode.replace(' ', '-')}.${Date.now()}`
  const { publish, close } = await system.setUp(topic, (sentAt) => {
    latencies.recordValue(Math.max(1, Math.round((performance.now() - sentAt) * 1000)))
    if (++consumed === total) allConsumed()
  })
  const started = performance.now()
  if (mode === 'flat out') {
    let next = 0
    await Promise.all(Array.from({ length: IN_FLIGHT_PUBLISHES }, async () => {
      while (next < total) { next++; await publish(performance.now()) }
    }))
  } else {
    // Open model: each event is due at its own time, whether or not earlier ones were consumed.
    const intervalMs = 1000 / SUSTAINED_RATE
    const sends: Array<Promise<void>> = []
    for (let i = 0; i < total; i++) {
      const due = started + i * intervalMs
      const wait = due - performance.now()
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait))
      sends.push(publish(performance.now()))
    }
    await Promise.all(sends)
  }
  await done
  const seconds = (performance.now() - started) / 1000
  await close()
  const ms = (us: number): number => Math.round(us / 10) / 100
  return { mode, events: total, seconds: Math.round(seconds * 100) / 100, perSecond: Math.round(total / seconds), p50Ms: ms(latencies.getValueAtPercentile(50)), p99Ms: ms(latencies.getValueAtPercentile(99)), maxMs: ms(latencies.maxValue) }
}

function viaPort (name: string, create: () => EventBus): System {
  return {
    name,
    async setUp (topic, onEvent) {
      const bus = create()
      await bus.subscribe(topic, 'bench', async (event) => { onEvent(event.data as number) }, { concurrency: CONSUMER_CONCURRENCY })
      return { publish: async (sentAt) => { await bus.publish(topic, sentAt) }, close: async () => { await bus.close() } }
    },
  }
}

function rawRedis (url: string): System {
  return {
    name: 'raw ioredis XADD / XREADGROUP / XACK',
    anchorOf: 'Redis Streams',
    async setUp (topic, onEvent) {
      const commands = createRedisClient(url, { purpose: 'command' })
      const reader = createRedisClient(url, { purpose: 'blocking' })
      const key = `raw:${topic}`
      await commands.call('XGROUP', 'CREATE', key, 'bench', '$', 'MKSTREAM')
      let open = true
      const loop = (async () => {
        while (open) {
          const reply = await reader.call('XREADGROUP', 'GROUP', 'bench', 'c1', 'COUNT', CONSUMER_CONCURRENCY, 'BLOCK', 100, 'STREAMS', key, '>') as unknown[] | null
          if (reply === null || reply.length === 0) continue
          const entries = (typeof reply[0] === 'string' ? reply[1] : (reply[0] as unknown[])[1]) as Array<[string, string[]]>
          for (const [id, fields] of entries) {
            onEvent(Number(fields[1]))
            void commands.call('XACK', key, 'bench', id)
          }
        }
      })()
      return {
        publish: async (sentAt) => { await commands.call('XADD', key, 'MAXLEN', '~', 100_000, '*', 'e', String(sentAt)) },
        close: async () => { open = false; await loop; reader.disconnect(); await commands.quit() },
      }
    },
  }
}

function rawNats (url: string): System {
  return {
    name: 'raw JetStream publish / consume / ack',
    anchorOf: 'NATS JetStream',
    async setUp (topic, onEvent) {
      const nc = await connect({ servers: url })
      const jsm = await jetstreamManager(nc)
      const stream = `RAW_${topic.replace(/[.-]/g, '_')}`
      await jsm.streams.add({ name: stream, subjects: [`raw.${topic}`], storage: StorageType.File, retention: RetentionPolicy.Limits })
      await jsm.consumers.add(stream, { durable_name: 'bench', ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.New, max_ack_pending: 10_000 })
      const js = jetstream(nc)
      const messages = await (await js.consumers.get(stream, 'bench')).consume({ max_messages: CONSUMER_CONCURRENCY })
      const loop = (async () => { for await (const m of messages) { onEvent(Number(m.string())); m.ack() } })()
      return {
        publish: async (sentAt) => { await js.publish(`raw.${topic}`, String(sentAt)) },
        close: async () => { messages.stop(); await loop; await nc.drain() },
      }
    },
  }
}

async function main (): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'outgrow-bench-'))
  const redis = new RedisServer({ name: 'bench-redis', dataDir: join(dir, 'redis'), logFile: join(dir, 'redis.log'), port: await freePort() })
  const nats = new NatsServer({ name: 'bench-nats', dataDir: join(dir, 'nats'), logFile: join(dir, 'nats.log'), port: await freePort() })
  const rows: Array<{ system: string, anchorOf?: string | undefined, results: Result[] }> = []
  try {
    await redis.start()
    await nats.start()
    const systems: System[] = [
      viaPort('in-process', () => new MemoryEventBus()),
      viaPort('Redis Streams', () => new RedisEventBus(redis.url)),
      rawRedis(redis.url),
      viaPort('NATS JetStream', () => new NatsEventBus(nats.url)),
      rawNats(nats.url),
    ]
    for (const system of systems) {
      const results = [await measure(system, 'sustained'), await measure(system, 'flat out')]
      rows.push({ system: system.name, anchorOf: system.anchorOf, results })
      process.stderr.write(`${system.name}: ${results.map((r) => `${r.mode} ${r.perSecond}/s p50 ${r.p50Ms} ms p99 ${r.p99Ms} ms`).join('; ')}\n`)
    }
  } finally {
    await nats.stop()
    await redis.stop()
    await rm(dir, { recursive: true, force: true })
  }
  const machine = describeMachine()
  const createdAt = new Date().toISOString()
  await writeFile('docs/benchmarks/event-bus.json', JSON.stringify({ createdAt, machine, settings: { FLAT_OUT_EVENTS, IN_FLIGHT_PUBLISHES, CONSUMER_CONCURRENCY, SUSTAINED_RATE, SUSTAINED_SECONDS }, rows }, null, 2) + '\n')
  await writeFile('docs/benchmarks/event-bus.md', report(createdAt, machine, rows))
}

function report (createdAt: string, machine: ReturnType<typeof describeMachine>, rows: Array<{ system: string, anchorOf?: string | undefined, results: Result[] }>): string {
  const lines = rows.flatMap((row) => row.results.map((r) => `| ${row.system} | ${r.mode} | ${r.events} | ${r.perSecond} | ${r.p50Ms} | ${r.p99Ms} | ${r.maxMs} |`))
  const ratios = rows.filter((row) => row.anchorOf !== undefined).flatMap((raw) => {
    const adapter = rows.find((row) => row.system === raw.anchorOf)
    if (adapter === undefined) return []
    return raw.results.map((r, i) => {
      const a = adapter.results[i] as Result
      return `| ${raw.anchorOf} | ${r.mode} | ${(a.perSecond / r.perSecond).toFixed(2)} | ${(a.p99Ms / r.p99Ms).toFixed(2)} |`
    })
  })
  return `# Event bus: publish → consume

Run ${createdAt} with \`npm run bench:event-bus\` (\`bench/event-bus.ts\`): ${machine.cores} × ${machine.cpu}, ${machine.memoryGiB} GiB,
${machine.os}, Node ${machine.node}. Publisher, consumer, Redis (append-only file, fsync every second)
and NATS (JetStream, file storage) share the machine's cores; no CPU quota.

One process publishes and consumes; latency is from the publish call's start to the handler's start,
on one clock. **Sustained**: ${SUSTAINED_RATE} events/s for ${SUSTAINED_SECONDS} s, each publish at its own due time (open model).
**Flat out**: ${FLAT_OUT_EVENTS} events, ${IN_FLIGHT_PUBLISHES} publishes in flight; throughput is events consumed per second of the run.
The consumer group has one member with ${CONSUMER_CONCURRENCY} handler slots. The raw rows are the anchors: the same
servers driven with the bare clients (no envelope, no checks, no heartbeats), consuming with the same batch size.

| System | Mode | Events | Events/s | p50 ms | p99 ms | max ms |
|---|---|---|---|---|---|---|
${lines.join('\n')}

Adapter ÷ raw client (throughput: higher is better, 1.00 = as fast as the bare client; p99: lower is better):

| Adapter | Mode | Throughput ratio | p99 ratio |
|---|---|---|---|
${ratios.join('\n')}

A short run on a shared 2-core machine: the numbers vary from run to run by tens of percent, and
they compare the adapters with their anchors on one machine at one moment, not with other
machines.
`
}

await main()
