import assert from 'node:assert/strict'
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { Redis } from 'ioredis'
import { RedisServer } from '../../src/supervisor/engines/redis.js'
import { freePort } from '../../src/supervisor/free-port.js'

/**
 * A replica that has just synced from its master writes its first append-only file in the
 * background, and Redis declines a SIGTERM meanwhile, acting only on a later signal. A stop sends
 * SIGTERM again until it exits cleanly; a supervisor's death, which can send nothing more, makes
 * the kernel send SIGINT (pdeathsig), on which it exits at once. Before, a supervisor killed with
 * SIGKILL left such a replica running for good.
 */
let dir: string
let master: RedisServer
const replicas: RedisServer[] = []

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outgrow-redis-shutdown-'))
  await chmod(dir, 0o755)
  master = new RedisServer({ name: 'master', dataDir: join(dir, 'master'), logFile: join(dir, 'master.log'), port: await freePort(), persistent: false })
  await master.start()
  const client = new Redis(master.url, { lazyConnect: true })
  await client.connect()
  const pipeline = client.pipeline()
  for (let n = 0; n < 4_000; n++) pipeline.set(`key:${n}`, 'value')
  await pipeline.exec()
  client.disconnect()
})
after(async () => {
  for (const replica of replicas) await replica.process.stop('SIGKILL', 5_000)
  await master.stop()
  await rm(dir, { recursive: true, force: true })
})

/** A replica of the master, caught while it writes its first AOF (slowed to about 4 s). */
async function replicaWritingFirstAof (name: string): Promise<RedisServer> {
  const replica = new RedisServer({ name, dataDir: join(dir, name), logFile: join(dir, `${name}.log`), port: await freePort(), persistent: true })
  replicas.push(replica)
  await replica.start()
  const client = new Redis(replica.url, { lazyConnect: true, maxRetriesPerRequest: 0 })
  await client.connect()
  try {
    await client.call('CONFIG', 'SET', 'rdb-key-save-delay', '1000')
    await client.call('REPLICAOF', '127.0.0.1', String(master.options.port))
    const deadline = Date.now() + 15_000
    while (Date.now() < deadline) {
      if (/aof_rewrite_in_progress:1/.test(await client.info('persistence'))) return replica
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  } finally {
    client.disconnect()
  }
  throw new Error(`${name} never wrote its first AOF; log:\n${replica.process.logTail(20)}`)
}

test('stopping a replica that writes its first AOF waits for it to finish, then it exits cleanly', async () => {
  const replica = await replicaWritingFirstAof('replica-stopped')
  await replica.stop()
  assert.equal(await replica.process.exited(), 0, `not a clean exit; log:\n${replica.process.logTail(10)}`)
  const log = replica.process.logTail(40)
  assert.match(log, /Writing initial AOF, can't exit/, 'the first SIGTERM came while it wrote the AOF')
  assert.match(log, /ready to exit/)
})

test('a dead supervisor\'s signal (SIGINT) ends a replica that writes its first AOF at once', async () => {
  const replica = await replicaWritingFirstAof('replica-orphaned')
  process.kill(replica.process.pid as number, 'SIGINT')
  const exitBy = Date.now() + 3_000
  while (replica.process.running && Date.now() < exitBy) await new Promise((resolve) => setTimeout(resolve, 50))
  assert.equal(replica.process.running, false, `still running 3 s after SIGINT; log:\n${replica.process.logTail(10)}`)
})
