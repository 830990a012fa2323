import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Redis } from 'ioredis'
import { createRedisClient, redactRedisUrl, redisConnectionOptions, REDIS_COMMAND_TIMEOUT_MS } from '../../src/runtime/redis-client.js'

/** A client that never connects, so its options can be read without a Redis. */
function unconnected (url: string, options: Parameters<typeof createRedisClient>[1]): Redis {
  return createRedisClient(url, { ...options, overrides: { lazyConnect: true, ...options.overrides } })
}

test('a Redis URL gives host, port, database, user, password and TLS', () => {
  assert.deepEqual(redisConnectionOptions('redis://127.0.0.1:6380'), { host: '127.0.0.1', port: 6380, db: 0 })
  assert.deepEqual(redisConnectionOptions('redis://cache.internal'), { host: 'cache.internal', port: 6379, db: 0 })
  assert.deepEqual(redisConnectionOptions('redis://app:s%40cret@cache.internal:6390/3'),
    { host: 'cache.internal', port: 6390, db: 3, username: 'app', password: 's@cret' })
  assert.deepEqual(redisConnectionOptions('redis://:only-a-password@[::1]:6379/'), { host: '::1', port: 6379, db: 0, password: 'only-a-password' })
  assert.deepEqual(redisConnectionOptions('rediss://app:pw@cache.example.com/1'),
    { host: 'cache.example.com', port: 6379, db: 1, username: 'app', password: 'pw', tls: {} })
})

test('anything but a redis:// or rediss:// URL is refused, without showing its password', () => {
  for (const [url, why] of [
    ['http://cache:6379', /scheme must be redis:\/\/ or rediss:\/\//],
    ['127.0.0.1:6379', /not a URL/],
    ['not a url', /not a URL/],
    ['redis://u:hunter2@cache/zero', /database number, not \/zero/],
    ['redis://cache:6379?family=6', /query parameters/],
  ] as const) {
    assert.throws(() => redisConnectionOptions(url), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'OUTGROW_CONFIG_INVALID')
      assert.match(err.message, why)
      assert.doesNotMatch(err.message, /hunter2/)
      return true
    }, url)
  }
  assert.equal(redactRedisUrl('redis://u:hunter2@cache:6379/1'), 'redis://u:***@cache:6379/1')
})

test('each purpose gets its retry behaviour; overrides go on top', async (t) => {
  const url = 'redis://app:pw@127.0.0.1:1/2'
  const command = unconnected(url, { purpose: 'command' })
  const blocking = unconnected(url, { purpose: 'blocking' })
  const subscriber = unconnected(url, { purpose: 'subscriber' })
  const probe = createRedisClient(url, { purpose: 'probe' })
  t.after(() => { for (const c of [command, blocking, subscriber, probe]) c.disconnect() })

  for (const client of [command, blocking, subscriber, probe]) {
    assert.equal(client.options.host, '127.0.0.1')
    assert.equal(client.options.port, 1)
    assert.equal(client.options.db, 2)
    assert.equal(client.options.username, 'app')
    assert.equal(client.options.password, 'pw')
    assert.equal(client.status, 'wait')
    assert.ok(client.listenerCount('error') > 0, 'connection errors have a listener')
  }
  assert.equal(command.options.maxRetriesPerRequest, 1)
  assert.equal(command.options.commandTimeout, REDIS_COMMAND_TIMEOUT_MS)
  assert.equal(command.options.enableAutoPipelining, true)
  assert.equal(command.options.retryStrategy?.(50), 1000)
  assert.equal(command.options.enableOfflineQueue, true, 'commands wait for the first connection')
  assert.equal(blocking.options.maxRetriesPerRequest, null)
  assert.equal(blocking.options.commandTimeout, undefined)
  assert.equal(subscriber.options.commandTimeout, undefined)
  assert.equal(probe.options.maxRetriesPerRequest, 0)
  assert.equal(probe.options.retryStrategy?.(1), null)
  await assert.rejects(probe.connect())
  assert.equal(probe.status, 'end', 'a probe does not reconnect')
})

test('with Sentinels the master is found through them; the URL still gives auth and database', (t) => {
  const client = unconnected('rediss://app:pw@ignored-host:6379/4', {
    purpose: 'command',
    sentinels: { masterName: 'outgrow', addresses: [{ host: '10.0.0.1', port: 26379 }, { host: '10.0.0.2', port: 26379 }] },
  })
  t.after(() => { client.disconnect() })
  assert.equal(client.options.name, 'outgrow')
  assert.deepEqual(client.options.sentinels, [{ host: '10.0.0.1', port: 26379 }, { host: '10.0.0.2', port: 26379 }])
  assert.equal(client.options.password, 'pw')
  assert.equal(client.options.db, 4)
  assert.deepEqual(client.options.tls, {})
})
