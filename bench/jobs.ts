/**
 * Jobs: throughput of Outgrow's BullMQ adapter beside raw BullMQ (same Redis, same concurrency,
 * same no-op handler, interleaved rounds), and the done-signal latency: jobs completing at a
 * sustained rate each publish a notice, and an SSE client of an HTTP server streaming that
 * audience (streamNotices, the shop's GET /api/events path) records when the event arrives.
 * Writes docs/benchmarks/jobs.md (and .json).
 */
import { request as httpRequest } from 'node:http'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { Queue, Worker } from 'bullmq'
import Fastify from 'fastify'
import * as hdr from 'hdr-histogram-js'
import { BullMqQueue } from '../src/jobs/bullmq-queue.js'
import { describeMachine } from '../src/lab/machine.js'
import { RedisNotices } from '../src/notices/redis-notices.js'
import { streamNotices, type OpenStream } from '../src/runtime/event-stream.js'
import type { Ports } from '../src/runtime/ports.js'
import { createRedisClient } from '../src/runtime/redis-client.js'
import { freePort } from '../src/supervisor/free-port.js'
import { RedisServer } from '../src/supervisor/engines/redis.js'

const ROUNDS = 3
const JOBS_PER_ROUND = 2000
const CONCURRENCY = 16
const IN_FLIGHT_ENQUEUES = 64
const RATE = 200
const SECONDS = 8

const quietLog = { info () {}, warn () {}, error () {} }
const now = (): number => performance.timeOrigin + performance.now()

/** Enqueues `count` jobs with `inFlight` enqueues at a time; resolves when every one has run. */
async function drive (count: number, enqueue: () => Promise<unknown>, completed: () => number): Promise<number> {
  const started = now()
  let next = 0
  await Promise.all(Array.from({ length: IN_FLIGHT_ENQUEUES }, async () => {
    while (next < count) { next++; await enqueue() }
  }))
  while (completed() < count) await new Promise((resolve) => setTimeout(resolve, 5))
  return count / ((now() - started) / 1000)
}

async function outgrowRound (url: string, queueName: string): Promise<number> {
  const queue = new BullMqQueue(url, queueName, CONCURRENCY)
  let done = 0
  await queue.process({ noop: async () => { done++ } }, { jobs: queue, log: quietLog } as unknown as Ports)
  try {
    return await drive(JOBS_PER_ROUND, async () => await queue.enqueue('noop', { n: 1 }), () => done)
  } finally {
    await queue.close()
  }
}

async function rawRound (url: string, queueName: string): Promise<number> {
  const producer = createRedisClient(url, { purpose: 'command' })
  const consumer = createRedisClient(url, { purpose: 'blocking' })
  const queue = new Queue(queueName, { connection: producer })
  let done = 0
  const worker = new Worker(queueName, async () => { done++ }, { connection: consumer, concurrency: CONCURRENCY })
  await worker.waitUntilReady()
  try {
    // The same job options the adapter gives every job.
    return await drive(JOBS_PER_ROUND, async () => await queue.add('noop', { n: 1 }, { attempts: 3, backoff: { type: 'exponential', delay: 100 }, removeOnComplete: { count: 1000, age: 86_400 }, removeOnFail: false }), () => done)
  } finally {
    await worker.close()
    await queue.close()
    producer.disconnect()
    consumer.disconnect()
  }
}

/** Jobs at RATE/s for SECONDS; each one's handler publishes a notice read by an SSE client. */
async function doneSignal (url: string): Promise<{ jobs: number, received: number, p50Ms: number, p99Ms: number, maxMs: number }> {
  const notices = new RedisNotices(url)
  const app = Fastify({ logger: false })
  // What the app server gives streamNotices (app-server.ts).
  app.decorate('openStreams', new Set<OpenStream>())
  app.decorateRequest('leaveInFlight', function () {})
  app.get('/api/events', async (request, reply) => { await streamNotices(request, reply, notices, 'user:bench') })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as { port: number }
  const latency = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 })
  let received = 0
  const client = httpRequest({ host: '127.0.0.1', port, path: '/api/events' })
  await new Promise<void>((resolve, reject) => {
    client.on('response', (res) => {
      let buffer = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        buffer += chunk
        let end = buffer.indexOf('\n\n')
        while (end >= 0) {
          const frame = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const data = /^data: (.*)$/m.exec(frame)?.[1]
          if (frame.includes('event: job.done') && data !== undefined) {
            latency.recordValue(Math.max(1, Math.round((now() - (JSON.parse(data) as { completedAt: number }).completedAt) * 1000)))
            received++
          }
          end = buffer.indexOf('\n\n')
        }
      })
      resolve()
    })
    client.on('error', reject)
    client.end()
  })
  const queue = new BullMqQueue(url, 'bench-done-signal', CONCURRENCY)
  await queue.process({ work: async (_payload, context) => {
    // The job's work is done here; the notice is how the browser learns it.
    await context.notices.publish('user:bench', 'job.done', { completedAt: now() })
  } }, { jobs: queue, notices, log: quietLog } as unknown as Ports)
  const total = RATE * SECONDS
  const started = now()
  const enqueues: Array<Promise<unknown>> = []
  for (let i = 0; i < total; i++) {
    const due = started + i * 1000 / RATE
    const wait = due - now()
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait))
    enqueues.push(queue.enqueue('work', i))
  }
  await Promise.all(enqueues)
  const deadline = now() + 10_000
  while (received < total && now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  client.destroy()
  await queue.close()
  await app.close()
  await notices.close()
  const ms = (us: number): number => Math.round(us / 10) / 100
  return { jobs: total, received, p50Ms: ms(latency.getValueAtPercentile(50)), p99Ms: ms(latency.getValueAtPercentile(99)), maxMs: ms(latency.maxValue) }
}

async function main (): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'outgrow-bench-jobs-'))
  const redis = new RedisServer({ name: 'bench-redis', dataDir: join(dir, 'redis'), logFile: join(dir, 'redis.log'), port: await freePort() })
  const rounds: Array<{ round: number, outgrow: number, raw: number }> = []
  let signal
  try {
    await redis.start()
    for (let round = 1; round <= ROUNDS; round++) {
      // Interleaved, and the order flipped each round, so neither side always runs on a warmer machine.
      const first = round % 2 === 1 ? 'outgrow' : 'raw'
      const a = first === 'outgrow' ? await outgrowRound(redis.url, `bench-outgrow-${round}`) : await rawRound(redis.url, `bench-raw-${round}`)
      const b = first === 'outgrow' ? await rawRound(redis.url, `bench-raw-${round}`) : await outgrowRound(redis.url, `bench-outgrow-${round}`)
      const row = first === 'outgrow' ? { round, outgrow: Math.round(a), raw: Math.round(b) } : { round, outgrow: Math.round(b), raw: Math.round(a) }
      rounds.push(row)
      process.stderr.write(`round ${round}: outgrow ${row.outgrow} jobs/s, raw BullMQ ${row.raw} jobs/s\n`)
    }
    signal = await doneSignal(redis.url)
    process.stderr.write(`done signal: ${signal.received}/${signal.jobs} received, p50 ${signal.p50Ms} ms, p99 ${signal.p99Ms} ms\n`)
  } finally {
    await redis.stop()
    await rm(dir, { recursive: true, force: true })
  }
  const sum = (k: 'outgrow' | 'raw'): number => rounds.reduce((s, r) => s + r[k], 0)
  const ratio = sum('outgrow') / sum('raw')
  const machine = describeMachine()
  const createdAt = new Date().toISOString()
  await writeFile('docs/benchmarks/jobs.json', JSON.stringify({ createdAt, machine, settings: { ROUNDS, JOBS_PER_ROUND, CONCURRENCY, IN_FLIGHT_ENQUEUES, RATE, SECONDS }, rounds, ratio, signal }, null, 2) + '\n')
  await writeFile('docs/benchmarks/jobs.md', `# Jobs: throughput and the done signal

Run ${createdAt} with \`npm run bench:jobs\` (\`bench/jobs.ts\`): ${machine.cores} × ${machine.cpu}, ${machine.memoryGiB} GiB,
${machine.os}, Node ${machine.node}. One process runs producer, worker, HTTP server and SSE client beside one
Redis (append-only file, fsync every second) on a free port; they share the machine's cores with whatever else runs; no CPU quota.

**Throughput**: ${JOBS_PER_ROUND} no-op jobs per round, ${IN_FLIGHT_ENQUEUES} enqueues in flight, one worker with
concurrency ${CONCURRENCY}; jobs per second from the first enqueue to the last completion. Outgrow's adapter
(\`BullMqQueue\`: time-bounded enqueue, metrics, back-off strategy, progress) and raw BullMQ (\`Queue.add\` and a
\`Worker\` with the same job options) alternate, ${ROUNDS} rounds, the order flipped each round.

| Round | Outgrow adapter jobs/s | Raw BullMQ jobs/s |
|---|---|---|
${rounds.map((r) => `| ${r.round} | ${r.outgrow} | ${r.raw} |`).join('\n')}

Adapter ÷ raw over all rounds: **${ratio.toFixed(2)}** (target ≥ 0.8).

**Done signal**: ${RATE} jobs/s for ${SECONDS} s (open model: each enqueue at its own due time); each job's handler
publishes a notice (\`job.done\`, Redis notices) and an SSE client of an HTTP server streaming that audience with
\`streamNotices\` (the path of the shop's \`GET /api/events\`) receives it. Latency: from the handler's end, just
before it publishes, to the client parsing the event, on one clock.

| Jobs | Received | p50 ms | p99 ms | max ms |
|---|---|---|---|---|
| ${signal.jobs} | ${signal.received} | ${signal.p50Ms} | ${signal.p99Ms} | ${signal.maxMs} |

Target: p99 ≤ 50 ms. A short run on a shared machine: the numbers vary from run to run by tens of percent.
`)
}

await main()
