import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import pg from 'pg'
import { EtcdClient } from '../../src/ha/dcs/etcd-client.js'
import { EtcdDcs } from '../../src/ha/dcs/etcd.js'
import { startEtcdCluster, type TestEtcdCluster } from '../../src/lab/etcd-cluster.js'
import { createHaNodes, type HaNodes } from '../../src/lab/ha-nodes.js'
import { startMonitor, startWriter, type Monitor, type Writer } from '../helpers/ha-writer.js'
import { waitUntil } from '../helpers/wait.js'

// Failover for real: 3 etcd members, 3 PostgreSQL servers (a primary, two replicas with slots,
// synchronous_standby_names = ANY 1), one agent process per server (src/ha/agent-main.ts) with
// the default timing (3 s lease). A client writes all along and logs what was acknowledged; a
// monitor asks every server every 100 ms whether it accepts writes.

const NAMES = ['a', 'b', 'c']
/** Generous bound on a failover (the target is 5 s; a busy 2-core machine must not fail the test). */
const FAILOVER_BOUND_MS = 15_000

let etcd: TestEtcdCluster
let nodes: HaNodes
let client: EtcdClient
let dcs: EtcdDcs
let writer: Writer | undefined
let monitor: Monitor | undefined

before(async () => {
  etcd = await startEtcdCluster(3)
  client = new EtcdClient({ hosts: etcd.hosts, callTimeoutMs: 1000 })
  dcs = new EtcdDcs({ client, cluster: 'ha-failover' })
  nodes = await createHaNodes(NAMES, etcd.hosts, 'ha-failover')
  // The existing primary's agent first: it takes the key; the replicas' agents then follow it.
  // (Started together, a replica may race first: the core has no "cluster initialized" key yet.)
  await nodes.startAgent('a')
  assert.ok(await waitUntil(async () => await leader() === 'a', 30_000, 100), `a holds the leader key\n${logs()}`)
  await Promise.all(['b', 'c'].map(async (name) => { await nodes.startAgent(name) }))
})

after(async () => {
  await writer?.stop()
  await monitor?.stop()
  await nodes?.stop()
  client?.close()
  await etcd?.stop()
})

const logs = (): string => NAMES.map((n) => `--- agent ${n}:\n${nodes.agentLog(n, 12)}`).join('\n')

async function leader (): Promise<string | null> {
  return (await dcs.getCluster().catch(() => null))?.leader?.name ?? null
}

async function query<T extends pg.QueryResultRow> (name: string, sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: nodes.node(name).url, connectionTimeoutMillis: 1000, query_timeout: 2000 })
  c.on('error', () => {})
  try {
    await c.connect()
    return (await c.query<T>(sql)).rows
  } finally {
    await c.end().catch(() => {})
  }
}

/** Waits for the first write acknowledged by a server other than `old` after `since`; its delay. */
async function failoverTime (old: string, since: number): Promise<number | null> {
  const w = writer as Writer
  const ok = await waitUntil(async () => w.acks.some((a) => a.at > since && a.node !== old), FAILOVER_BOUND_MS, 20)
  const first = w.acks.find((a) => a.at > since && a.node !== old)
  return ok && first !== undefined ? first.at - since : null
}

/** Every write acknowledged so far is in `name`'s table. */
async function assertAcksOn (name: string): Promise<void> {
  const acked = (writer as Writer).acks.map((a) => a.id)
  const present = new Set((await query<{ id: number }>(name, 'SELECT id FROM acks')).map((r) => r.id))
  const missing = acked.filter((id) => !present.has(id))
  assert.deepEqual(missing, [], `acknowledged writes missing on ${name} (${acked.length} acknowledged)`)
}

/** `name` runs as a streaming replica of `leaderName`. */
async function streamsFrom (name: string, leaderName: string): Promise<boolean> {
  try {
    const [replica] = await query<{ recovery: boolean }>(name, 'SELECT pg_is_in_recovery() AS recovery')
    const streaming = await query<{ n: string }>(leaderName, `SELECT count(*) AS n FROM pg_stat_replication WHERE application_name = '${name}' AND state = 'streaming'`)
    return replica?.recovery === true && streaming[0]?.n === '1'
  } catch {
    return false
  }
}

test('the agents elect the existing primary, which names a synchronous standby', { timeout: 60_000 }, async () => {
  assert.equal(await leader(), 'a')
  const synced = await waitUntil(async () => {
    const [row] = await query<{ names: string, ro: string }>('a', "SELECT current_setting('synchronous_standby_names') AS names, current_setting('default_transaction_read_only') AS ro")
    return row?.ro === 'off' && /^ANY 1 \("[bc]"/.test(row.names)
  }, 20_000, 100)
  assert.ok(synced, `a is writable with ANY 1 of its replicas as synchronous standbys\n${logs()}`)
  // Non-strict mode: a standby may take over only once the leader has put it in the sync key, after
  // it caught up with what the leader acknowledged alone before naming it.
  const inKey = await waitUntil(async () => ((await dcs.getCluster().catch(() => null))?.sync.standbys.length ?? 0) > 0, 20_000, 100)
  assert.ok(inKey, `a standby is in the sync key\n${logs()}`)
  assert.ok(await waitUntil(async () => await streamsFrom('b', 'a') && await streamsFrom('c', 'a'), 20_000, 100), `b and c stream from a\n${logs()}`)
  monitor = startMonitor(nodes.nodes)
  writer = startWriter(nodes.nodes)
  assert.ok(await waitUntil(async () => (writer as Writer).acks.length >= 20, 10_000, 20), 'writes are acknowledged')
})

test('kill -9 of the primary and its agent: a synchronous standby takes over with every acknowledged write', { timeout: 90_000 }, async () => {
  const old = await leader()
  assert.equal(old, 'a')
  const killedAt = Date.now()
  nodes.signalPostgres('a', 'SIGKILL')
  nodes.node('a').agent?.kill('SIGKILL')
  const took = await failoverTime('a', killedAt)
  const now = await leader()
  console.log(`# failover after kill -9 of the primary and its agent: writes acknowledged again after ${took} ms (new leader ${now})`)
  assert.ok(took !== null, `writes resumed within ${FAILOVER_BOUND_MS} ms\n${logs()}`)
  assert.ok(now === 'b' || now === 'c', `a replica holds the leader key (${now})`)
  await assertAcksOn(now)

  // The old primary comes back (its unit restarted): rewound if needed, then a standby of the new leader.
  await nodes.startAgent('a')
  assert.ok(await waitUntil(async () => await streamsFrom('a', now), 45_000, 200), `a streams from ${now}\n${logs()}`)
  assert.equal(await leader(), now, 'the returning node did not take the key')
  await assertAcksOn(now)
})

test('SIGSTOP of the primary and its agent: fenced or killed by its keeper, replaced, back as a standby once thawed', { timeout: 90_000 }, async () => {
  const old = await leader()
  assert.ok(old !== null)
  const frozenAt = Date.now()
  nodes.signalPostgres(old, 'SIGSTOP')
  nodes.node(old).agent?.kill('SIGSTOP')
  const took = await failoverTime(old, frozenAt)
  const now = await leader()
  console.log(`# failover after SIGSTOP of the primary (${old}) and its agent: writes acknowledged again after ${took} ms (new leader ${now})`)
  assert.ok(took !== null, `writes resumed within ${FAILOVER_BOUND_MS} ms\n${logs()}`)
  assert.ok(now !== null && now !== old)

  nodes.signalPostgres(old, 'SIGCONT')
  nodes.node(old).agent?.kill('SIGCONT')
  assert.ok(await waitUntil(async () => await streamsFrom(old, now), 45_000, 200), `${old} streams from ${now} after thawing\n${logs()}`)
  await assertAcksOn(now)
  await (writer as Writer).stop()
  await (monitor as Monitor).stop()
  await assertAcksOn(now)
  const m = monitor as Monitor
  assert.ok(m.rounds > 50, `the monitor ran (${m.rounds} rounds)`)
  assert.deepEqual(m.overlaps, [], 'never two servers accepting writes in the same round')
  assert.ok((m.lastWritable.get(old) ?? 0) < frozenAt + 1000, `${old} did not accept writes after the freeze`)
})
