import assert from 'node:assert/strict'
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { after, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { PgDatabase } from '../../src/data/pg-database.js'
import { DirectWrites } from '../../src/write-behind/direct-writes.js'
import { RedisStreamWrites, type RedisStreamWritesOptions } from '../../src/write-behind/redis-stream-writes.js'
import { partitionKeys } from '../../src/write-behind/stream-keys.js'
import { startEngines, type TestEngines } from '../helpers/engines.js'
import { EVENTS_SCHEMA, EVENTS_STREAM, eventsApplier } from '../helpers/write-behind-events.js'

const WORKER = fileURLToPath(new URL('../fixtures/write-behind-worker.js', import.meta.url))

let engines: TestEngines
let db: PgDatabase
let redisUrl = ''
before(async () => {
  engines = await startEngines({ redis: true })
  redisUrl = engines.redis?.url as string
  db = new PgDatabase({ primary: engines.primary.url, replicas: [], poolSize: 6, replicaPollMs: 20 })
  await db.write(EVENTS_SCHEMA)
})
after(async () => {
  await db.close()
  await engines.stop()
})

const options = (prefix: string): RedisStreamWritesOptions => ({ prefix, partitions: 2, batchSize: 50, leaseMs: 1000, maxBacklog: 1_000_000 })

async function applied (): Promise<number> {
  const found = await db.read<{ n: string }>('SELECT coalesce(sum(total), 0) AS n FROM wb_totals', [], { primary: true })
  return Number(found.rows[0]?.n)
}

async function waitApplied (expected: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (let n = await applied(); n !== expected; n = await applied()) {
    if (Date.now() > deadline) assert.fail(`applied ${n} of ${expected} writes within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** Every key's events, in the order they were applied. */
async function eventsByKey (): Promise<Map<string, number[]>> {
  const rows = await db.read<{ key: string, seq: number }>('SELECT key, seq FROM wb_events ORDER BY applied', [], { primary: true })
  const byKey = new Map<string, number[]>()
  for (const row of rows.rows) byKey.set(row.key, [...byKey.get(row.key) ?? [], row.seq])
  return byKey
}

async function reset (): Promise<void> {
  await db.write('TRUNCATE wb_events, wb_totals')
}

describe('write-behind in Redis streams', () => {
  it('refuses an unknown stream, a bad key or a payload that is not JSON, naming the field, and queues nothing', async () => {
    const writes = new RedisStreamWrites(redisUrl, db, { [EVENTS_STREAM]: eventsApplier() }, options('wb-bad:'))
    const redis = new Redis(redisUrl)
    try {
      const refused = (field: string) => (err: { code?: string, details?: { field?: string } }) => err.code === 'OUTGROW_VALIDATION' && err.details?.field === field
      await assert.rejects(writes.append('no.such.stream', 'k', 1), refused('stream'))
      await assert.rejects(writes.append(EVENTS_STREAM, '', 1), refused('key'))
      await assert.rejects(writes.append(EVENTS_STREAM, 'k'.repeat(513), 1), refused('key'))
      await assert.rejects(writes.append(EVENTS_STREAM, 'k', (() => 1) as never), refused('payload'))
      const lengths = await Promise.all([0, 1].map(async (p) => await redis.xlen(partitionKeys('wb-bad:', EVENTS_STREAM, p).stream)))
      assert.deepEqual(lengths, [0, 0])
    } finally {
      redis.disconnect()
      await writes.close()
    }
  })

  it('applies every key\'s writes in the order they were appended, with two consumers sharing the partitions', async () => {
    await reset()
    const producer = new RedisStreamWrites(redisUrl, db, { [EVENTS_STREAM]: eventsApplier() }, options('wb-order:'))
    const consumers = [0, 1].map(() => new RedisStreamWrites(redisUrl, db, { [EVENTS_STREAM]: eventsApplier() }, options('wb-order:')))
    try {
      await Promise.all(consumers.map(async (c) => { await c.process() }))
      const keys = Array.from({ length: 12 }, (_, i) => `key-${i}`)
      // Each key's appends one after another (so their order is defined); keys concurrently.
      await Promise.all(keys.map(async (key) => {
        for (let seq = 1; seq <= 60; seq++) await producer.append(EVENTS_STREAM, key, { seq })
      }))
      await waitApplied(keys.length * 60)
      const byKey = await eventsByKey()
      for (const key of keys) assert.deepEqual(byKey.get(key), Array.from({ length: 60 }, (_, i) => i + 1), `${key} in order`)
    } finally {
      await Promise.all([producer, ...consumers].map(async (w) => { await w.close() }))
    }
  })

  it('loses no acknowledged write and applies none twice when a worker process is killed mid-batch', async () => {
    await reset()
    const prefix = 'wb-kill:'
    const producer = new RedisStreamWrites(redisUrl, db, { [EVENTS_STREAM]: eventsApplier() }, options(prefix))
    const children: ChildProcess[] = []
    const startWorker = async (pauseMs: number, onApplying?: (child: ChildProcess) => void): Promise<ChildProcess> => {
      const child = fork(WORKER, { env: { ...process.env, WB_REDIS: redisUrl, WB_PG: engines.primary.url, WB_PREFIX: prefix, WB_PAUSE_MS: String(pauseMs) }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
      children.push(child)
      await new Promise<void>((resolve, reject) => {
        child.on('message', (message: { ready?: boolean, applying?: number }) => {
          if (message.ready === true) resolve()
          if (message.applying !== undefined) onApplying?.(child)
        })
        child.once('exit', (code) => { reject(new Error(`worker exited (${String(code)}) before it was ready`)) })
      })
      return child
    }
    try {
      // Appends run all along: before, during and after the kill. Only acknowledged ones count.
      const acked = new Map<string, number>()
      let appending = true
      const appendLoop = (async () => {
        for (let n = 0; appending; n++) {
          const key = `item-${n % 10}`
          const seq = (acked.get(key) ?? 0) + 1
          await producer.append(EVENTS_STREAM, key, { seq })
          acked.set(key, seq)
        }
      })()
      let batches = 0
      let killedMidBatch: () => void = () => {}
      const killed = new Promise<void>((resolve) => { killedMidBatch = resolve })
      // Each batch pauses 300 ms inside its transaction; the third is killed there.
      await startWorker(300, (child) => {
        if (++batches === 3) {
          child.kill('SIGKILL')
          killedMidBatch()
        }
      })
      await killed
      const appliedAtKill = await applied()
      await new Promise((resolve) => setTimeout(resolve, 200))
      await startWorker(0)
      await new Promise((resolve) => setTimeout(resolve, 500))
      appending = false
      await appendLoop
      const total = [...acked.values()].reduce((sum, n) => sum + n, 0)
      assert.ok(appliedAtKill < total, `writes were still waiting when the worker was killed (${appliedAtKill} of ${total} applied)`)
      await waitApplied(total)
      const byKey = await eventsByKey()
      const totals = await db.read<{ key: string, total: string }>('SELECT key, total FROM wb_totals', [], { primary: true })
      for (const [key, n] of acked) {
        assert.deepEqual(byKey.get(key), Array.from({ length: n }, (_, i) => i + 1), `${key}: every acknowledged write, once, in order`)
        assert.equal(Number(totals.rows.find((row) => row.key === key)?.total), n, `${key}: no batch applied twice`)
      }
    } finally {
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await producer.close()
    }
  })
})

describe('write-behind without Redis (direct)', () => {
  it('applies each append at once, in its own transaction, and refuses bad input naming the field', async () => {
    await reset()
    const writes = new DirectWrites(db, { [EVENTS_STREAM]: eventsApplier() })
    await writes.append(EVENTS_STREAM, 'direct', { seq: 1 })
    await writes.append(EVENTS_STREAM, 'direct', { seq: 2 })
    assert.deepEqual((await eventsByKey()).get('direct'), [1, 2])
    await assert.rejects(writes.append('other', 'direct', { seq: 3 }), (err: { details?: { field?: string } }) => err.details?.field === 'stream')
    assert.equal(await applied(), 2)
  })
})
