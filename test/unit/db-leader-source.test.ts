import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseProcessConfig } from '../../src/config/process-config.js'
import { ManualClock } from '../../src/control/clock.js'
import { dbTopology } from '../../src/data/db-topology.js'
import { dcsLeaderSource, staticLeaderSource } from '../../src/data/leader-source.js'
import { PgDatabase } from '../../src/data/pg-database.js'
import { OutgrowError } from '../../src/errors/index.js'
import { MemoryDcsStore } from '../../src/ha/dcs/memory.js'
import { waitUntil } from '../helpers/wait.js'
import { freePort } from '../../src/supervisor/free-port.js'

test('a static leader source names its member and never changes', () => {
  const source = staticLeaderSource('postgres-primary')
  let heard = 0
  source.watch(() => { heard++ })
  assert.equal(source.current(), 'postgres-primary')
  source.close()
  assert.equal(heard, 0)
})

test('the DCS leader source reads the leader, then follows the watch: changes and the key vanishing', async () => {
  const store = new MemoryDcsStore(new ManualClock())
  assert.ok(await store.client('a').attemptToAcquireLeader('a', 3000, null))
  const source = dcsLeaderSource(store.client('app'), { resyncMs: 0 })
  const heard: Array<string | undefined> = []
  source.watch((leader) => { heard.push(leader) })
  try {
    assert.ok(await waitUntil(async () => source.current() === 'a', 1000, 5))
    assert.ok(await store.client('a').deleteLeader('a'))
    assert.ok(await waitUntil(async () => source.current() === undefined, 1000, 5))
    assert.ok(await store.client('b').attemptToAcquireLeader('b', 3000, (await store.client('b').getCluster()).termRevision))
    assert.ok(await waitUntil(async () => source.current() === 'b', 1000, 5))
    assert.deepEqual(heard, ['a', undefined, 'b'])
  } finally {
    source.close()
  }
})

test('the DCS leader source: an unreachable store is retried; a missed watch event is repaired by the periodic read', async () => {
  const store = new MemoryDcsStore(new ManualClock())
  assert.ok(await store.client('a').attemptToAcquireLeader('a', 3000, null))
  store.setFaults('app', { unreachable: true })
  const source = dcsLeaderSource(store.client('app'), { retryMs: 10, resyncMs: 20 })
  try {
    await new Promise((resolve) => setTimeout(resolve, 30))
    assert.equal(source.current(), undefined, 'nothing known while the store cannot be reached')
    store.healAll()
    assert.ok(await waitUntil(async () => source.current() === 'a', 1000, 5), 'learned once the store answers')
    // While unreachable, the watch hears nothing: the leader moves unnoticed, and the last known one stays.
    store.setFaults('app', { unreachable: true })
    assert.ok(await store.client('a').deleteLeader('a'))
    assert.ok(await store.client('b').attemptToAcquireLeader('b', 3000, (await store.client('b').getCluster()).termRevision))
    await new Promise((resolve) => setTimeout(resolve, 40))
    assert.equal(source.current(), 'a')
    store.healAll()
    assert.ok(await waitUntil(async () => source.current() === 'b', 1000, 5), 'the next periodic read finds the new leader')
  } finally {
    source.close()
  }
})

const app = { role: 'app', instanceId: 'a', port: 0, service: '/s', adminToken: 'x'.repeat(8), cache: { kind: 'none' }, session: { kind: 'memory' }, jobs: { kind: 'inprocess' } }
const members = { 'postgres-primary': 'postgres://p/db', 'postgres-replica-1': 'postgres://r1/db' }
const refusal = (field: string) => (err: unknown): boolean => err instanceof OutgrowError && err.code === 'OUTGROW_CONFIG_INVALID' && err.message.includes(`db.${field}`)

test('db config: the plain primary form still parses; members name their leader, statically or in etcd', () => {
  const plain = parseProcessConfig({ ...app, db: { primary: 'postgres://p/db', replicas: ['postgres://r/db'] } })
  assert.ok(plain.role === 'app')
  assert.deepEqual(dbTopology(plain.db), {
    members: [{ name: 'primary', url: 'postgres://p/db' }], replicas: ['postgres://r/db'], membersServeReads: false, leader: { kind: 'static', name: 'primary' },
  })
  const fixed = parseProcessConfig({ ...app, db: { members, leader: { kind: 'static', name: 'postgres-primary' } } })
  assert.ok(fixed.role === 'app')
  assert.deepEqual(dbTopology(fixed.db).members.map((m) => m.name), ['postgres-primary', 'postgres-replica-1'])
  assert.equal(dbTopology(fixed.db).membersServeReads, true)
  const dcs = parseProcessConfig({ ...app, db: { members, leader: { kind: 'dcs', etcd: { hosts: ['http://127.0.0.1:2379'] }, cluster: 'postgres' } } })
  assert.ok(dcs.role === 'app')
  assert.deepEqual(dcs.db.leader, { kind: 'dcs', etcd: { hosts: ['http://127.0.0.1:2379'] }, cluster: 'postgres' })
})

test('db config refusals name the field', () => {
  const parse = (db: unknown): unknown => parseProcessConfig({ ...app, db })
  assert.throws(() => parse({ primary: 'postgres://p/db', members }), refusal('members'))
  assert.throws(() => parse({ replicas: [] }), refusal('primary'))
  assert.throws(() => parse({ members }), refusal('leader'))
  assert.throws(() => parse({ members: {}, leader: { kind: 'static', name: 'x' } }), refusal('members'))
  assert.throws(() => parse({ members, leader: { kind: 'static', name: 'postgres-replica-9' } }), refusal('leader.name'))
  assert.throws(() => parse({ primary: 'postgres://p/db', leader: { kind: 'static', name: 'primary' } }), refusal('leader'))
  assert.throws(() => parse({ members, leader: { kind: 'dcs', etcd: { hosts: [] }, cluster: 'postgres' } }), refusal('leader.etcd.hosts'))
})

test('a dcs leader from config follows etcd: with no etcd answering there is no leader, and writes fail fast as a failover', async () => {
  const db = new PgDatabase({ members, leader: { kind: 'dcs', etcd: { hosts: [`http://127.0.0.1:${await freePort()}`] }, cluster: 'postgres' }, connectTimeoutMs: 200 })
  try {
    await assert.rejects(db.write('SELECT 1'), (err: unknown) => err instanceof OutgrowError && err.code === 'OUTGROW_DB_FAILOVER')
  } finally {
    await db.close()
  }
})
