import assert from 'node:assert/strict'
import { after, before, mock, test } from 'node:test'
import { Redis } from 'ioredis'
import { request } from 'undici'
import { parseGatewayConfig } from '../../src/config/gateway-config.js'
import { RedisRegistry } from '../../src/gateway/redis-registry.js'
import { startGateway } from '../../src/gateway/server.js'
import { startBackend } from '../helpers/backends.js'
import { startRedis } from '../helpers/engines.js'
import { sleep, waitUntil } from '../helpers/wait.js'

/** Short enough that a test sees several heartbeats (every TTL/3) and an expiry in a second. */
const TTL_MS = 600
const HOUR_MS = 3_600_000

let redisUrl = ''
let stopRedis: () => Promise<void> = async () => {}
before(async () => {
  const started = await startRedis()
  redisUrl = started.redis.url
  stopRedis = started.stop
})
after(async () => { await stopRedis() })

/** Runs `work` with this process's wall clock moved by offsetMs, as on a host whose clock is off. */
async function withClockOffset<T> (offsetMs: number, work: () => Promise<T>): Promise<T> {
  const realNow = Date.now.bind(Date)
  const skewed = mock.method(Date, 'now', () => realNow() + offsetMs)
  try {
    return await work()
  } finally {
    skewed.mock.restore()
  }
}

const ids = async (registry: RedisRegistry): Promise<string[]> => (await registry.list()).map((i) => i.id)

test('liveness does not depend on local clocks: a writer behind or a reader ahead still sees a live instance', async () => {
  const writer = new RedisRegistry(redisUrl, 'skew-live', TTL_MS)
  const reader = new RedisRegistry(redisUrl, 'skew-live', TTL_MS)
  try {
    await withClockOffset(-HOUR_MS, async () => { await writer.register({ id: 'behind', url: 'http://127.0.0.1:1' }) })
    assert.deepEqual(await ids(reader), ['behind'], 'a writer whose clock is an hour behind is listed')
    await writer.register({ id: 'on-time', url: 'http://127.0.0.1:2' })
    const seenAhead = await withClockOffset(HOUR_MS, async () => await ids(reader))
    assert.deepEqual(seenAhead, ['behind', 'on-time'], 'a reader whose clock is an hour ahead lists both')
  } finally {
    await writer.close()
    await reader.close()
  }
})

test('a crashed instance disappears within the TTL even when its clock ran an hour ahead', async () => {
  const writer = new RedisRegistry(redisUrl, 'skew-crash', TTL_MS)
  const reader = new RedisRegistry(redisUrl, 'skew-crash', TTL_MS)
  const raw = new Redis(redisUrl)
  try {
    await withClockOffset(HOUR_MS, async () => {
      await writer.register({ id: 'ahead', url: 'http://127.0.0.1:1' })
      await sleep(TTL_MS) // a few heartbeats from the skewed clock
      await writer.close() // the crash: heartbeats stop, nobody deregisters
    })
    const crashedAt = Date.now()
    assert.deepEqual(await ids(reader), ['ahead'], 'still listed right after the last heartbeat')
    assert.ok(await waitUntil(async () => (await ids(reader)).length === 0, 3 * TTL_MS), 'gone after its TTL')
    assert.ok(Date.now() - crashedAt <= TTL_MS + 400, `gone within the TTL (took ${Date.now() - crashedAt} ms)`)
    assert.deepEqual(await raw.smembers('outgrow:registry:skew-crash:members'), [], 'list() pruned the index')
  } finally {
    await reader.close()
    raw.disconnect()
  }
})

test('an admin removal is not undone by the instance\'s heartbeats, and the instance is told', async () => {
  const backend = await startBackend('removed-a')
  const other = await startBackend('kept-b')
  const instance = new RedisRegistry(redisUrl, 'admin', TTL_MS)
  const removals: string[] = []
  await instance.register({ id: 'removed-a', url: backend.url }, { onRemoved: () => { removals.push('removed-a') } })
  await instance.register({ id: 'kept-b', url: other.url })
  const token = 'admin-token-registry'
  const gw = await startGateway(parseGatewayConfig({ port: 0, adminToken: token, admin: { port: 0 }, upstreams: { registry: { kind: 'redis', url: redisUrl, cluster: 'admin' }, healthCheck: { intervalMs: 200 } } }))
  try {
    assert.deepEqual(gw.cluster.members.map((u) => u.id).sort(), ['kept-b', 'removed-a'])
    const res = await request(`http://127.0.0.1:${String(gw.adminPort)}/__outgrow/admin/instances/removed-a`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })
    assert.equal(res.statusCode, 200)
    await res.body.dump()
    await sleep(4 * (TTL_MS / 3)) // four heartbeat periods
    assert.deepEqual(await ids(instance), ['kept-b'], 'heartbeats did not put it back')
    assert.deepEqual(gw.cluster.members.map((u) => u.id), ['kept-b'], 'the gateway keeps it out')
    assert.deepEqual(removals, ['removed-a'], 'the instance learnt once that it was removed')
  } finally {
    await gw.close()
    await instance.close()
    await backend.close()
    await other.close()
  }
})

test('an instance that leaves by itself is not reported as removed', async () => {
  const registry = new RedisRegistry(redisUrl, 'leave', TTL_MS)
  let removed = false
  try {
    const registration = await registry.register({ id: 'leaver', url: 'http://127.0.0.1:1' }, { onRemoved: () => { removed = true } })
    await registration.leave()
    await sleep(2 * (TTL_MS / 3))
    assert.deepEqual(await ids(registry), [])
    assert.equal(removed, false)
  } finally {
    await registry.close()
  }
})

test('an entry that expired while Redis was away (a failover longer than the TTL) is written again by the next heartbeat', async () => {
  const registry = new RedisRegistry(redisUrl, 'expired', TTL_MS)
  const raw = new Redis(redisUrl)
  let removed = false
  try {
    await registry.register({ id: 'survivor', url: 'http://127.0.0.1:1' }, { onRemoved: () => { removed = true } })
    // What a promoted replica holds after a long failover: the key gone by expiry, no tombstone.
    await raw.del('outgrow:registry:expired:member:survivor')
    assert.deepEqual(await ids(registry), [])
    assert.ok(await waitUntil(async () => (await ids(registry)).includes('survivor'), 5000), 'registered again')
    assert.equal(removed, false, 'not reported as removed')
  } finally {
    raw.disconnect()
    await registry.close()
  }
})
