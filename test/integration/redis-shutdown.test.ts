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
 * background. Redis's default SIGTERM handling refuses to exit meanwhile and never acts on the
 * signal again; the signal a supervisor's death sends (pdeathsig) would then leave it running for
 * good. Ours exits.
 */
let dir: string
let master: RedisServer
let replica: RedisServer | undefined

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outgrow-redis-shutdown-'))
  await chmod(dir, 0o755)
  master = new RedisServer({ name: 'master', dataDir: join(dir, 'master'), logFile: join(dir, 'master.log'), port: await freePort(), persistent: false })
  await master.start()
  // Enough data that the replica's first AOF takes a while to write.
  const client = new Redis(master.url, { lazyConnect: true })
  await client.connect()
  const value = 'x'.repeat(200)
  for (let batch = 0; batch < 40; batch++) {
    const pipeline = client.pipeline()
    for (let n = 0; n < 10_000; n++) pipeline.set(`key:${batch}:${n}`, value)
    await pipeline.exec()
  }
  client.disconnect()
})
after(async () => {
  await replica?.process.stop('SIGKILL', 5_000)
  await master.stop()
  await rm(dir, { recursive: true, force: true })
})

test('a replica writing its first append-only file exits on SIGTERM', async () => {
  replica = new RedisServer({ name: 'replica', dataDir: join(dir, 'replica'), logFile: join(dir, 'replica.log'), port: await freePort(), persistent: true })
  await replica.start(() => {}, 15_000, master.options.port)
  const probe = new Redis(replica.url, { lazyConnect: true, maxRetriesPerRequest: 0 })
  await probe.connect()
  let rewriting = false
  const deadline = Date.now() + 15_000
  try {
    while (!rewriting && Date.now() < deadline) {
      const info = await probe.info('persistence')
      rewriting = /aof_rewrite_in_progress:1/.test(info)
    }
  } finally {
    probe.disconnect()
  }
  assert.ok(rewriting, `the replica never wrote its first AOF in the background; log:\n${replica.process.logTail(20)}`)
  const pid = replica.process.pid as number
  process.kill(pid, 'SIGTERM')
  const exitBy = Date.now() + 5_000
  while (replica.process.running && Date.now() < exitBy) await new Promise((resolve) => setTimeout(resolve, 50))
  assert.equal(replica.process.running, false, `still running 5 s after SIGTERM; log:\n${replica.process.logTail(10)}`)
})
