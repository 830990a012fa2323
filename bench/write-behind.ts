import { fork, type ChildProcess } from 'node:child_process'
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PgDatabase } from '../src/data/pg-database.js'
import { PostgresServer } from '../src/supervisor/engines/postgres.js'
import { RedisServer } from '../src/supervisor/engines/redis.js'
import { freePort } from '../src/supervisor/free-port.js'
import { RedisStreamWrites } from '../src/write-behind/redis-stream-writes.js'

/**
 * Write-behind against direct writes on the same PostgreSQL, in one run: a view counter on KEYS
 * products, CONCURRENCY requests in flight.
 *   direct:       UPDATE bench_direct SET n = n + 1 WHERE id = $1, one per request.
 *   write-behind: one append per request (Redis stream, appendonly), applied by a worker process
 *                 in batches, one UPDATE per product per batch.
 * Then the kill trial: appends go on while the worker is killed (SIGKILL) inside a batch's
 * transaction and another takes over; every acknowledged count must be applied, once.
 * `node dist/bench/write-behind.js [seconds per phase, default 10]`. Prints one JSON object.
 */
const SECONDS = Number(process.argv[2] ?? '10')
const KEYS = 200
const CONCURRENCY = 32
const WORKER = fileURLToPath(new URL('./write-behind-worker.js', import.meta.url))

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/** CONCURRENCY loops of `op` for `seconds`; the count of acknowledged ops (and per key, when asked). */
async function closedLoop (seconds: number, op: (key: number) => Promise<void>, acked?: Map<number, number>): Promise<number> {
  const until = Date.now() + seconds * 1000
  let done = 0
  await Promise.all(Array.from({ length: CONCURRENCY }, async (_, worker) => {
    for (let n = worker; Date.now() < until; n += CONCURRENCY) {
      const key = 1 + (n * 7919) % KEYS
      await op(key)
      done++
      acked?.set(key, (acked.get(key) ?? 0) + 1)
    }
  }))
  return done
}

async function startWorker (redisUrl: string, pgUrl: string, onBatch?: (child: ChildProcess) => void): Promise<ChildProcess> {
  const child = fork(WORKER, { env: { ...process.env, WB_REDIS: redisUrl, WB_PG: pgUrl }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
  await new Promise<void>((resolve, reject) => {
    child.on('message', (message: { ready?: boolean, applying?: number }) => {
      if (message.ready === true) resolve()
      if (message.applying !== undefined) onBatch?.(child)
    })
    child.once('exit', (code) => { reject(new Error(`write-behind worker exited (${String(code)}) before it was ready`)) })
  })
  return child
}

async function appliedTotal (db: PgDatabase): Promise<number> {
  return Number((await db.read<{ n: string }>('SELECT sum(n) AS n FROM bench_views', [], { primary: true })).rows[0]?.n ?? 0)
}

/** Waits until `expected` counts are applied; returns the ms it took. */
async function drain (db: PgDatabase, expected: number): Promise<number> {
  const started = Date.now()
  while (await appliedTotal(db) < expected) {
    if (Date.now() - started > 120_000) throw new Error('write-behind did not drain within 120 s')
    await sleep(50)
  }
  return Date.now() - started
}

const dir = await mkdtemp(join(tmpdir(), 'outgrow-bench-wb-'))
// PostgreSQL may run as another user (run-as.ts): it must reach its directory.
await chmod(dir, 0o755)
// As a stack runs them: PostgreSQL with fsync, Redis with its append-only file (fsync every second).
const postgres = await PostgresServer.createPrimary({ name: 'bench-pg', dataDir: join(dir, 'pg'), logFile: join(dir, 'pg.log'), port: await freePort(), durable: true })
const redis = new RedisServer({ name: 'bench-redis', dataDir: join(dir, 'redis'), logFile: join(dir, 'redis.log'), port: await freePort(), persistent: true })
const children: ChildProcess[] = []
try {
  await postgres.start()
  await postgres.createDatabase()
  await redis.start()
  const db = new PgDatabase({ primary: postgres.url, replicas: [], poolSize: 16, replicaPollMs: 1000 })
  for (const table of ['bench_direct', 'bench_views']) {
    await db.write(`CREATE TABLE ${table} (id int PRIMARY KEY, n bigint NOT NULL DEFAULT 0)`)
    await db.write(`INSERT INTO ${table} (id) SELECT generate_series(1, ${KEYS})`)
  }
  const producer = new RedisStreamWrites(redis.url, db, { 'bench.views': async () => {} }, { prefix: 'wb:', partitions: 4, batchSize: 500, leaseMs: 2000, maxBacklog: 10_000_000 })

  const direct = await closedLoop(SECONDS, async (key) => { await db.write('UPDATE bench_direct SET n = n + 1 WHERE id = $1', [key]) })

  const first = await startWorker(redis.url, postgres.url)
  children.push(first)
  const appendStarted = Date.now()
  const appended = await closedLoop(SECONDS, async (key) => { await producer.append('bench.views', String(key), 1) })
  const appendMs = Date.now() - appendStarted
  const backlogAtEnd = appended - await appliedTotal(db)
  const drainMs = await drain(db, appended)

  // Kill trial: a fresh count, appends running all along; the worker is killed inside the first
  // batch it starts once a third of the trial has passed, and another one takes over.
  first.kill('SIGKILL')
  await db.write('UPDATE bench_views SET n = 0')
  const acked = new Map<number, number>()
  let trialStarted = Number.POSITIVE_INFINITY
  let killedAt = 0
  const trialWorker = await startWorker(redis.url, postgres.url, (child) => {
    if (killedAt === 0 && Date.now() - trialStarted > SECONDS * 333) {
      killedAt = Date.now()
      child.kill('SIGKILL')
    }
  })
  children.push(trialWorker)
  trialStarted = Date.now()
  const loop = closedLoop(SECONDS, async (key) => { await producer.append('bench.views', String(key), 1) }, acked)
  while (killedAt === 0) await sleep(20)
  children.push(await startWorker(redis.url, postgres.url))
  await loop
  const ackedTotal = [...acked.values()].reduce((sum, n) => sum + n, 0)
  await drain(db, ackedTotal).catch(() => 0)
  // A moment more: a batch applied twice would show now.
  await sleep(1000)
  const rows = (await db.read<{ id: number, n: string }>('SELECT id, n FROM bench_views', [], { primary: true })).rows
  let lost = 0
  let repeated = 0
  for (const row of rows) {
    const difference = Number(row.n) - (acked.get(row.id) ?? 0)
    if (difference < 0) lost -= difference
    else repeated += difference
  }
  await producer.close()
  await db.close()
  process.stdout.write(`${JSON.stringify({
    machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
    seconds: SECONDS, keys: KEYS, concurrency: CONCURRENCY,
    direct: { writes: direct, perSecond: Math.round(direct / SECONDS) },
    writeBehind: {
      appends: appended, perSecond: Math.round(appended / (appendMs / 1000)),
      backlogWhenAppendsStopped: backlogAtEnd, drainMs,
      appliedPerSecond: Math.round(appended / ((appendMs + drainMs) / 1000)),
    },
    ratio: Number(((appended / (appendMs / 1000)) / (direct / SECONDS)).toFixed(2)),
    killTrial: { acknowledged: ackedTotal, lost, appliedTwice: repeated, workerKilledAfterMs: killedAt - trialStarted },
  }, null, 2)}\n`)
} finally {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  await redis.stop().catch(() => {})
  await postgres.stop().catch(() => {})
  await rm(dir, { recursive: true, force: true })
}
