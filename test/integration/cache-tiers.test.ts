import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { Redis } from 'ioredis'
import { TieredCache } from '../../src/cache/tiered-cache.js'
import { redisPerFile } from '../helpers/engines.js'
import { sleep, waitUntil } from '../helpers/wait.js'

/**
 * Two instances of the tiered cache on one Redis (two clients in this process, as two app
 * instances would be): what one writes must leave the other's in-process tier at once.
 */
let url = ''
let raw: Redis
let prefixes = 0
const ready = redisPerFile().ready.then((started) => {
  url = started
  raw = new Redis(url)
})
before(async () => { await ready })
after(() => { raw.disconnect() })

async function pair (): Promise<{ a: TieredCache, b: TieredCache, prefix: string }> {
  const prefix = `t${++prefixes}:`
  const options = { l1MaxEntries: 100, ttl: { graceSeconds: 0, jitter: 0 }, leases: { ms: 5000, waitMs: 1000 } }
  const a = new TieredCache(url, prefix, options)
  const b = new TieredCache(url, prefix, options)
  await Promise.all([a.ready(), b.ready()])
  return { a, b, prefix }
}

/** How long until `check` holds, in ms; fails after 2 s. */
async function within (check: () => Promise<boolean>): Promise<number> {
  const started = Date.now()
  assert.ok(await waitUntil(check, 2000, 2), 'within 2 s')
  return Date.now() - started
}

test('a value read once is served from the in-process tier: Redis is not asked again', async (t) => {
  const { a, b, prefix } = await pair()
  t.after(async () => { await a.close(); await b.close() })
  await a.set('product:1', { price: 100 }, 60)
  assert.deepEqual(await b.get('product:1'), { price: 100 })
  // Gone from Redis behind the bus's back: only b's L1 still has it.
  await raw.del(`${prefix}{product:1}`)
  assert.deepEqual(await b.get('product:1'), { price: 100 }, 'served by L1')
  assert.deepEqual(await b.wrap('product:1', 60, async () => ({ price: -1 })), { price: 100 }, 'wrap too')
})

test('a set, a delete or a tag invalidation on one instance drops the entry from the other\'s L1 within milliseconds', async (t) => {
  const { a, b } = await pair()
  t.after(async () => { await a.close(); await b.close() })
  await a.set('product:1', { price: 100 }, 60)
  assert.deepEqual(await b.get('product:1'), { price: 100 })
  await a.set('product:1', { price: 90 }, 60)
  const setMs = await within(async () => (await b.get<{ price: number }>('product:1'))?.price === 90)
  await a.delete('product:1')
  const deleteMs = await within(async () => await b.get('product:1') === undefined)
  assert.ok(setMs < 200 && deleteMs < 200, `set seen after ${setMs} ms, delete after ${deleteMs} ms`)

  let loads = 0
  const list = async (): Promise<string[]> => { loads++; return [`page-${loads}`] }
  assert.deepEqual(await b.wrap('products:1', 60, list, { tags: ['lists'] }), ['page-1'])
  assert.deepEqual(await b.wrap('products:1', 60, list, { tags: ['lists'] }), ['page-1'], 'cached')
  await a.invalidateTags('lists')
  await within(async () => (await b.wrap('products:1', 60, list, { tags: ['lists'] }))[0] === 'page-2')
  assert.equal(loads, 2)
})

test('an entry another instance read without its tags is still dropped by a tag invalidation (tags travel with the entry)', async (t) => {
  const { a, b } = await pair()
  t.after(async () => { await a.close(); await b.close() })
  await a.wrap('products:2', 60, async () => 'page', { tags: ['lists'] })
  assert.equal(await b.get('products:2'), 'page')
  await a.invalidateTags('lists')
  await within(async () => await b.get('products:2') === undefined)
})

test('when the bus is lost, L1 is emptied and not used until the bus is back: a missed message leaves nothing stale', async (t) => {
  const { a, b, prefix } = await pair()
  t.after(async () => { await a.close(); await b.close() })
  await a.set('product:3', 'old', 60)
  assert.equal(await b.get('product:3'), 'old')
  // A change no bus message announces (as if it was missed while b was disconnected).
  await raw.set(`${prefix}{product:3}`, (await raw.get(`${prefix}{product:3}`) ?? '').replace('"old"', '"new"'))
  assert.equal(await b.get('product:3'), 'old', 'L1 still has it')
  await raw.call('CLIENT', 'KILL', 'TYPE', 'pubsub')
  await within(async () => await b.get('product:3') === 'new')
  await b.ready()
  await sleep(20)
  assert.equal(await b.get('product:3'), 'new')
})

test('getMany takes what L1 has and asks Redis for the rest in one call', async (t) => {
  const { a, b } = await pair()
  t.after(async () => { await a.close(); await b.close() })
  await a.setMany([{ key: 'k1', value: 1 }, { key: 'k2', value: 2 }, { key: 'k3', value: 3 }], 60)
  assert.equal(await b.get('k2'), 2)
  assert.deepEqual(await b.getMany(['k1', 'k2', 'missing', 'k3']), [1, 2, undefined, 3])
})

test('with l1HotKeys, L1 keeps only the hottest keys: a key read once stays in Redis only', async (t) => {
  const prefix = `t${++prefixes}:`
  const options = { l1MaxEntries: 100, l1HotKeys: 5, ttl: { graceSeconds: 0, jitter: 0 } }
  const a = new TieredCache(url, prefix, options)
  t.after(async () => { await a.close() })
  await a.ready()
  await a.set('cold', 'c', 60)
  await a.set('hot', 'h', 60)
  for (let i = 0; i < 5; i++) assert.equal(await a.get('hot'), 'h')
  assert.equal(await a.get('cold'), 'c')
  await raw.del(`${prefix}{cold}`, `${prefix}{hot}`)
  assert.equal(await a.get('hot'), 'h', 'the hot key is served from L1')
  assert.equal(await a.get('cold'), undefined, 'the cold key was not kept in L1')
  assert.equal(a.hotKeys(1)[0]?.key, 'hot')
})
