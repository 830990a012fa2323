import assert from 'node:assert/strict'
import { fork, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { after, before, describe, it } from 'node:test'
import pino from 'pino'
import { PgDatabase } from '../../src/data/pg-database.js'
import { idempotentInTransaction, PROCESSED_EVENTS_DDL } from '../../src/events/idempotent.js'
import { RedisEventBus } from '../../src/events/redis-bus.js'
import { BullMqQueue } from '../../src/jobs/bullmq-queue.js'
import { ensureOutboxTables } from '../../src/outbox/outbox-table.js'
import { OutboxRelay } from '../../src/outbox/relay.js'
import { acquireLease, deleteDelivered, releaseLease, renewLease, settleDelivered } from '../../src/outbox/relay-lease.js'
import { InProcessQueue } from '../../src/jobs/inprocess-queue.js'
import { deleteEntriesOnSuccess } from '../../src/outbox/finished-jobs.js'
import { registry } from '../../src/runtime/metrics.js'
import type { JobContext, Ports } from '../../src/runtime/ports.js'
import { startEngines, type TestEngines } from '../helpers/engines.js'
import { restart } from '../helpers/outage.js'
import { Browser, startShop } from '../helpers/shop.js'
import { waitUntil } from '../helpers/wait.js'

async function waitFor (check: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  if (!await waitUntil(check, timeoutMs)) assert.fail(`not in ${timeoutMs} ms: ${what}`)
}

const RELAY = fileURLToPath(new URL('../fixtures/outbox-relay.js', import.meta.url))
const quiet = pino({ level: 'silent' })

let engines: TestEngines
let db: PgDatabase
let redisUrl = ''
before(async () => {
  engines = await startEngines({ redis: true })
  redisUrl = engines.redis?.url as string
  db = new PgDatabase({ primary: engines.primary.url, replicas: [], poolSize: 6, replicaPollMs: 20 })
  await ensureOutboxTables(db)
  await db.write(PROCESSED_EVENTS_DDL)
  await db.write(`CREATE TABLE applied (kind text NOT NULL, ref text NOT NULL, times int NOT NULL DEFAULT 1, PRIMARY KEY (kind, ref));
    CREATE TABLE changes (n int PRIMARY KEY)`)
})
after(async () => {
  await db.close()
  await engines.stop()
})

async function outboxSize (): Promise<number> {
  return Number((await db.read<{ n: string }>('SELECT count(*) AS n FROM outgrow_outbox', [], { primary: true })).rows[0]?.n)
}

async function appliedOnce (kind: string): Promise<Map<string, number>> {
  const rows = await db.read<{ ref: string, times: number }>('SELECT ref, times FROM applied WHERE kind = $1', [kind], { primary: true })
  return new Map(rows.rows.map((r) => [r.ref, r.times]))
}

/** Applies something in the database once per delivery it is given: the count shows a double. */
async function apply (kind: string, ref: string): Promise<void> {
  await db.write('INSERT INTO applied (kind, ref) VALUES ($1, $2) ON CONFLICT (kind, ref) DO UPDATE SET times = applied.times + 1', [kind, ref])
}

async function metric (name: string): Promise<number> {
  const found = (await registry.getMetricsAsJSON()).find((m) => m.name === name)
  return Number(found?.values[0]?.value ?? NaN)
}

describe('the transactional outbox', () => {
  it('one relay holds the lease at a time; a relay whose lease was taken over changes nothing', async () => {
    const a = await acquireLease(db, 'relay-a', 300)
    assert.ok(a !== undefined, 'a free lease is taken')
    assert.equal(await acquireLease(db, 'relay-b', 300), undefined, 'a held lease is not')
    await db.transaction(async (tx) => { await tx.outbox.event('lease.test', { n: 1 }) })
    const entry = (await db.read<{ id: string }>('SELECT id::text FROM outgrow_outbox ORDER BY id DESC LIMIT 1', [], { primary: true })).rows[0]?.id as string
    let b: number | undefined
    await waitFor(async () => (b = await acquireLease(db, 'relay-b', 5000)) !== undefined, 'the expired lease is taken over', 10_000)
    assert.ok((b as number) > a, 'with a higher term')
    assert.equal(await renewLease(db, 'relay-a', a, 300), false, 'the old holder cannot renew')
    assert.equal(await deleteDelivered(db, a, [entry]), false, 'nor delete entries')
    assert.equal(await outboxSize(), 1)
    assert.equal(await deleteDelivered(db, b as number, [entry]), true)
    assert.equal(await outboxSize(), 0)
    // A batch's events deleted and its jobs marked in one transaction, under the same lease check.
    await db.transaction(async (tx) => { await tx.outbox.event('lease.test', { n: 2 }); await tx.outbox.job('lease.job', { n: 2 }) })
    const rows = (await db.read<{ id: string, kind: string }>('SELECT id::text, kind FROM outgrow_outbox ORDER BY id', [], { primary: true })).rows
    const event = rows.find((r) => r.kind === 'event')?.id as string
    const job = rows.find((r) => r.kind === 'job')?.id as string
    assert.equal(await settleDelivered(db, a, [event], [job]), false, 'the old holder cannot settle a batch')
    assert.equal((await db.read('SELECT 1 FROM outgrow_outbox WHERE dispatched_term IS NOT NULL', [], { primary: true })).rows.length, 0, 'nor mark its jobs')
    assert.equal(await outboxSize(), 2)
    assert.equal(await settleDelivered(db, b as number, [event], [job]), true)
    const left = (await db.read<{ id: string, dispatched_term: number | null }>('SELECT id::text, dispatched_term FROM outgrow_outbox', [], { primary: true })).rows
    assert.deepEqual(left.map((r) => [r.id, Number(r.dispatched_term)]), [[job, b]], 'the event is gone, the job stays marked with the term')
    await db.write('DELETE FROM outgrow_outbox')
    await releaseLease(db, 'relay-b', b as number)
    const c = await acquireLease(db, 'relay-c', 300)
    assert.ok(c !== undefined, 'a released lease is free at once')
    await releaseLease(db, 'relay-c', c)
  })

  it('a relay killed with SIGKILL mid-batch loses nothing: every committed entry is delivered, and redeliveries are applied once', { timeout: 60_000 }, async () => {
    const suffix = randomBytes(4).toString('hex')
    const queueName = `outbox-kill-${suffix}`
    const namespace = `outbox-kill-${suffix}`
    const topic = 'thing.changed'
    const group = `applier-${suffix}`
    // The consumers: an idempotent event consumer and a job worker, each counting what it applies.
    const bus = new RedisEventBus(redisUrl, { namespace })
    let eventDeliveries = 0
    await bus.subscribe(topic, group, async (event) => {
      eventDeliveries++
      await idempotentInTransaction(db, group, async (e, tx) => {
        await tx.query('INSERT INTO applied (kind, ref) VALUES ($1, $2) ON CONFLICT (kind, ref) DO UPDATE SET times = applied.times + 1', ['event', e.id])
      })(event)
    }, { concurrency: 4 })
    const worker = new BullMqQueue(redisUrl, queueName, 4)
    await worker.process({ work: async (_payload, context: JobContext) => { await apply('job', context.jobId) } }, { log: quiet } as unknown as Ports)
    const children: ChildProcess[] = []
    const startRelay = async (hangAfter?: number): Promise<{ child: ChildProcess, delivered: () => number }> => {
      let delivered = 0
      const child = fork(RELAY, {
        env: { ...process.env, OUTBOX_PG: engines.primary.url, OUTBOX_REDIS: redisUrl, OUTBOX_QUEUE: queueName, OUTBOX_NAMESPACE: namespace, ...(hangAfter === undefined ? {} : { OUTBOX_HANG_AFTER: String(hangAfter) }) },
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      })
      children.push(child)
      child.on('message', (m: { delivered?: number }) => { if (m.delivered !== undefined) delivered = m.delivered })
      return { child, delivered: () => delivered }
    }
    try {
      // 150 transactions, each a change with one job and one event: 300 entries, 3 batches of 100.
      for (let n = 1; n <= 150; n++) {
        await db.transaction(async (tx) => {
          await tx.query('INSERT INTO changes (n) VALUES ($1)', [n])
          await tx.outbox.job('work', { n })
          await tx.outbox.event(topic, { n }, { key: `thing-${n % 7}` })
        })
      }
      // A transaction that rolls back leaves no entry.
      await db.transaction(async (tx) => {
        await tx.outbox.job('work', { n: 0 })
        throw new Error('rolled back')
      }).catch(() => {})
      assert.equal(await outboxSize(), 300)

      const first = await startRelay(150)
      await waitFor(async () => first.delivered() >= 150, 'the first relay handed 150 entries on', 20_000)
      // It is stuck in its second batch: 100 delivered and deleted, 50 delivered and not yet deleted.
      first.child.kill('SIGKILL')
      assert.ok(await outboxSize() > 150, 'entries handed on in the killed batch are still in the outbox')
      const second = await startRelay()
      await waitFor(async () => await outboxSize() === 0, 'the second relay emptied the outbox', 30_000)
      assert.ok(second.delivered() > 150, `the second relay redelivered the killed batch (${second.delivered()} hand-overs)`)

      await waitFor(async () => (await appliedOnce('job')).size === 150 && (await appliedOnce('event')).size === 150, 'every job and event applied', 30_000)
      for (const kind of ['job', 'event']) {
        const applied = await appliedOnce(kind)
        assert.equal(applied.size, 150, `every ${kind} was applied`)
        assert.deepEqual([...applied.values()].filter((times) => times !== 1), [], `no ${kind} was applied twice`)
      }
      assert.ok(eventDeliveries > 150, `some events were delivered twice (${eventDeliveries} deliveries) and dropped by the idempotent consumer`)
    } finally {
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await worker.close()
      await bus.close()
    }
  })

  it('loses nothing while the queue is down: the entries wait, counted in the backlog, and are delivered once it is back', { timeout: 60_000 }, async () => {
    const queueName = `outbox-down-${randomBytes(4).toString('hex')}`
    const queue = new BullMqQueue(redisUrl, queueName, 2)
    const relay = new OutboxRelay({ db, jobs: queue, events: { publish: async () => { throw new Error('no events here') } }, jobsDurable: true, log: quiet, primaryUrl: () => engines.primary.url, pollMs: 200, leaseMs: 1000 })
    const redis = engines.redis as NonNullable<TestEngines['redis']>
    try {
      await redis.stop()
      relay.start()
      for (let n = 1; n <= 5; n++) await db.transaction(async (tx) => { await tx.outbox.job('down', { n }) })
      await waitFor(async () => await metric('outgrow_outbox_backlog') === 5, 'the backlog shows the five entries', 20_000)
      assert.equal(await outboxSize(), 5, 'nothing left the outbox while the queue was down')
      await restart(redis)
      await waitFor(async () => await outboxSize() === 0, 'the relay delivered once the queue was back', 30_000)
      await queue.process({ down: async (_payload, context: JobContext) => { await apply('down', context.jobId) } }, { log: quiet } as unknown as Ports)
      await waitFor(async () => (await appliedOnce('down')).size === 5, 'the five jobs ran', 20_000)
      await waitFor(async () => await metric('outgrow_outbox_backlog') === 0, 'the backlog is empty', 5_000)
    } finally {
      await relay.close()
      await queue.close()
    }
  })

  it('the shop: an order placed while the job queue is down is confirmed with its receipt once the queue is back', { timeout: 60_000 }, async () => {
    const shop = await startShop({
      primary: engines.primary.url, cache: { kind: 'memory', maxEntries: 1000 }, session: { kind: 'memory', ttlSeconds: 3600 },
      jobs: { kind: 'bullmq', url: redisUrl, queue: `shop-${randomBytes(4).toString('hex')}`, concurrency: 2 }, products: 20, users: 3,
    })
    const redis = engines.redis as NonNullable<TestEngines['redis']>
    try {
      const buyer = new Browser(shop.app)
      assert.equal((await buyer.request('POST', '/api/login', { email: 'user1@example.com', password: 'password123' })).status, 200)
      assert.equal((await buyer.request('POST', '/api/cart/items', { productId: 3, qty: 1 })).status, 201)
      await redis.stop()
      const order = await buyer.request('POST', '/api/orders', {})
      assert.equal(order.status, 201, JSON.stringify(order.json))
      const orderId = order.json.id as number
      const waiting = await db.read<{ n: string }>(`SELECT count(*) AS n FROM outgrow_outbox WHERE kind = 'job' AND job_id = $1`, [`receipt-${orderId}`], { primary: true })
      assert.equal(Number(waiting.rows[0]?.n), 1, 'the receipt job waits in the outbox')
      assert.equal((await buyer.request('GET', `/api/orders/${orderId}`)).json.receiptReady, false)
      await restart(redis)
      await waitFor(async () => (await buyer.request('GET', `/api/orders/${orderId}`)).json.receiptReady === true, 'the receipt was rendered', 30_000)
      const confirmed = await buyer.request('GET', `/api/orders/${orderId}`)
      assert.equal(confirmed.json.status, 'confirmed')
      assert.match(String(confirmed.json.receipt), new RegExp(`Receipt for order #${orderId}`))
    } finally {
      await shop.close()
    }
  })

  it('with jobs kept in the process (levels 1–3), an entry stays until its job finished: a process that died with it queued loses nothing', { timeout: 60_000 }, async () => {
    const noEvents = { publish: async () => { throw new Error('no events here') } }
    // The first process queues the jobs but never runs them, then goes away with its queue.
    const lost = new InProcessQueue(2)
    const first = new OutboxRelay({ db, jobs: lost, events: noEvents, jobsDurable: false, log: quiet, pollMs: 100, leaseMs: 1000 })
    first.start()
    for (let n = 1; n <= 3; n++) await db.transaction(async (tx) => { await tx.outbox.job('kept', { n }) })
    const dispatched = async (): Promise<number> => Number((await db.read<{ n: string }>('SELECT count(*) AS n FROM outgrow_outbox WHERE dispatched_term IS NOT NULL', [], { primary: true })).rows[0]?.n)
    await waitFor(async () => await dispatched() === 3, 'the first relay handed the three jobs to its queue', 20_000)
    await first.close()
    assert.equal(await outboxSize(), 3, 'handed to a queue in the process is not done: the entries stay')
    // The next process's relay (a new term) hands them on again; each entry goes once its job ran.
    const queue = new InProcessQueue(2)
    await queue.process(deleteEntriesOnSuccess({ kept: async (_payload, context) => { await apply('kept', context.jobId) } }, db, quiet), { log: quiet } as unknown as Ports)
    const second = new OutboxRelay({ db, jobs: queue, events: noEvents, jobsDurable: false, log: quiet, pollMs: 100, leaseMs: 1000 })
    second.start()
    try {
      await waitFor(async () => await outboxSize() === 0, 'every entry deleted once its job ran', 20_000)
      const applied = await appliedOnce('kept')
      assert.equal(applied.size, 3)
      assert.deepEqual([...applied.values()], [1, 1, 1])
    } finally {
      await second.close()
      await queue.close()
    }
  })
})
