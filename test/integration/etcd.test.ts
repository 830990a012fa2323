import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { EtcdClient, isPreconditionFailed, isUnreachable, type WatchEvent } from '../../src/ha/dcs/etcd-client.js'
import { freePort } from '../../src/supervisor/free-port.js'
import { OutgrowError } from '../../src/errors/index.js'
import { etcdCluster, startEtcdCluster, type TestEtcdCluster } from '../../src/lab/etcd-cluster.js'
import { sleep, waitUntil } from '../helpers/wait.js'

// A real 3-member etcd cluster on free loopback ports, and the client the DCS is built on.

let cluster: TestEtcdCluster
const clients: EtcdClient[] = []
const client = (hosts: readonly string[] = cluster.hosts): EtcdClient => {
  const c = new EtcdClient({ hosts, callTimeoutMs: 1500 })
  clients.push(c)
  return c
}

before(async () => { cluster = await startEtcdCluster(3) })
after(async () => {
  for (const c of clients) c.close()
  await cluster.stop()
})

/** The reason of a PRECONDITION_FAILED rejection (failing on anything else). */
async function preconditionReason (promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (err) {
    assert.ok(isPreconditionFailed(err), `expected PRECONDITION_FAILED, got ${String(err)}`)
    return err.details.reason
  }
  assert.fail('expected PRECONDITION_FAILED, the write applied')
}

test('a member of a fresh cluster is not ready alone; it is once a quorum of the three runs', async () => {
  const fresh = await etcdCluster(3)
  try {
    const [one, two, three] = fresh.members as [typeof fresh.members[0], typeof fresh.members[0], typeof fresh.members[0]]
    await assert.rejects(one.start(() => {}, 2500), (err: unknown) => err instanceof OutgrowError && err.code === 'OUTGROW_ENGINE_START_FAILED' && /quorum of 2/.test(err.message))
    assert.equal(one.process?.running, true, 'still waiting for its peers')
    assert.equal(await one.healthy(), false)
    await two.start()
    assert.ok(await waitUntil(async () => await one.healthy(), 10_000), 'the first member is healthy once a second one runs')
    await three.start()
    assert.ok(await three.healthy())
  } finally {
    await fresh.stop()
  }
})

test('a leader key under a lease is taken by exactly one of two racing clients', async () => {
  const a = client()
  const b = client([...cluster.hosts].reverse())
  for (let round = 0; round < 10; round++) {
    const key = `/outgrow/test/race-${round}/leader`
    const [leaseA, leaseB] = await Promise.all([a.grantLease(3), b.grantLease(3)])
    const results = await Promise.allSettled([a.putIfAbsent(key, 'node-a', { lease: leaseA }), b.putIfAbsent(key, 'node-b', { lease: leaseB })])
    const won = results.filter((r) => r.status === 'fulfilled')
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    assert.equal(won.length, 1, `round ${round}: ${JSON.stringify(results)}`)
    const loser = lost[0]?.reason as unknown
    assert.ok(isPreconditionFailed(loser) && loser.details.reason === 'exists', String(loser))
    const winner = results[0].status === 'fulfilled' ? { name: 'node-a', lease: leaseA } : { name: 'node-b', lease: leaseB }
    assert.equal(loser.details.current?.value, winner.name, 'the loser is told who holds it')
    const held = await a.get(key)
    assert.equal(held?.value, winner.name)
    assert.equal(held.lease, winner.lease.id)
    await Promise.all([leaseA.revoke(), leaseB.revoke()])
    assert.equal(await a.get(key), undefined, 'revoking the lease deletes the key')
  }
})

test('a leased key stays while keepalives run and disappears after the TTL once they stop', async () => {
  const c = client()
  // etcd raises TTLs below 1.5 election timeouts (1 s here) to 2 s.
  assert.equal((await c.grantLease(1)).ttl, 2)
  const auto = await c.grantLease(2, { keepAlive: 'auto' })
  await c.putIfAbsent('/outgrow/test/ttl/auto', 'alive', { lease: auto })
  await sleep(2 * 2000 + 500)
  assert.equal((await c.get('/outgrow/test/ttl/auto'))?.value, 'alive', 'kept past twice its TTL by keepalives')
  auto.release()
  assert.ok(await waitUntil(async () => await c.get('/outgrow/test/ttl/auto') === undefined, 10_000), 'gone after the TTL without keepalives')

  const manual = await c.grantLease(2)
  await c.putIfAbsent('/outgrow/test/ttl/manual', 'alive', { lease: manual })
  assert.equal(await manual.keepAliveOnce(), 2)
  assert.ok(await waitUntil(async () => await c.get('/outgrow/test/ttl/manual') === undefined, 10_000), 'a manual lease expires when not renewed')
  assert.equal(await preconditionReason(manual.keepAliveOnce()), 'lease-not-found')
  assert.equal(await preconditionReason(c.put('/outgrow/test/ttl/manual', 'again', { lease: manual })), 'lease-not-found')
})

test('rebind and delete apply only while the value matches; compare-and-set only at the expected revision', async () => {
  const c = client()
  const key = '/outgrow/test/cas/leader'
  const [first, second] = await Promise.all([c.grantLease(10), c.grantLease(10)])
  await c.putIfAbsent(key, 'node-a', { lease: first })
  assert.equal(await preconditionReason(c.rebindIfValue(key, 'node-b', second)), 'value')
  assert.equal((await c.get(key))?.lease, first.id, 'a rebind that failed changed nothing')
  await c.rebindIfValue(key, 'node-a', second)
  assert.equal((await c.get(key))?.lease, second.id)
  await first.revoke()
  assert.equal((await c.get(key))?.value, 'node-a', 'the key moved with the rebind and outlives the old lease')

  assert.equal(await preconditionReason(c.deleteIfValue(key, 'node-b')), 'value')
  assert.equal((await c.get(key))?.value, 'node-a')
  await c.deleteIfValue(key, 'node-a')
  assert.equal(await c.get(key), undefined)
  await c.deleteIfValue(key, 'node-a') // already gone: nothing to do
  assert.equal(await preconditionReason(c.rebindIfValue(key, 'node-a', second)), 'value', 'no rebind of a key that is gone')
  await second.revoke()

  const config = '/outgrow/test/cas/config'
  const created = await c.compareAndSet(config, 'v1', 0)
  assert.equal(await preconditionReason(c.compareAndSet(config, 'v1-again', 0)), 'revision')
  assert.equal(await preconditionReason(c.compareAndSet(config, 'stale', created - 1)), 'revision')
  const updated = await c.compareAndSet(config, 'v2', created)
  assert.ok(updated > created)
  const current = await c.get(config)
  assert.deepEqual([current?.value, current?.modRevision, current?.createRevision], ['v2', updated, created])
})

test('a prefix read gives values and revisions; a watch from the next revision sees every change after it', async () => {
  const c = client()
  const prefix = '/outgrow/test/watch/'
  await c.put(`${prefix}a`, '1')
  const read = await c.getPrefix(prefix)
  assert.deepEqual(read.values.map((v) => [v.key, v.value]), [[`${prefix}a`, '1']])
  // Written between the read and the watch: still delivered, because the watch starts after the read's revision.
  await c.put(`${prefix}b`, '2')
  const events: WatchEvent[] = []
  const watch = await c.watch(prefix, { prefix: true, fromRevision: read.revision + 1, onEvent: (e) => { events.push(e) } })
  await c.put(`${prefix}a`, '3')
  await c.put('/outgrow/test/elsewhere', 'x')
  await c.deleteIfValue(`${prefix}b`, '2')
  assert.ok(await waitUntil(async () => events.length >= 3, 10_000), JSON.stringify(events))
  await watch.cancel()
  assert.deepEqual(events.map((e) => [e.type, e.key, e.value]), [['put', `${prefix}b`, '2'], ['put', `${prefix}a`, '3'], ['delete', `${prefix}b`, '']])
  assert.ok(events.every((e, i) => i === 0 || e.modRevision > (events[i - 1] as WatchEvent).modRevision))
})

test('kill -9 of one member: the other two keep answering; restarted, it rejoins and its watch resumes', async () => {
  const all = client()
  const victim = cluster.members[2]
  assert.ok(victim !== undefined)
  const onVictim = client([victim.url])
  const events: WatchEvent[] = []
  const states: string[] = []
  await onVictim.watch('/outgrow/test/outage/key', { onEvent: (e) => { events.push(e) }, onState: (s) => { states.push(s) } })

  victim.process?.kill('SIGKILL')
  await victim.process?.exited()
  // An election may be under way if it led: writes go through again within a bounded time.
  const written = await waitUntil(async () => await all.put('/outgrow/test/outage/key', 'during').then(() => true, () => false), 15_000)
  assert.ok(written, 'two of three members accept writes')
  assert.equal((await all.get('/outgrow/test/outage/key'))?.value, 'during')
  assert.deepEqual(await Promise.all(cluster.members.slice(0, 2).map(async (m) => await m.healthy(2000))), [true, true])

  await victim.start()
  assert.ok(victim.process?.spec.args.join(' ').includes('--initial-cluster-state existing'), 'a restarted member rejoins as existing')
  // A linearizable read through the restarted member alone: it has caught up with the write it missed.
  assert.ok(await waitUntil(async () => (await onVictim.get('/outgrow/test/outage/key').catch(() => undefined))?.value === 'during', 15_000))
  assert.ok(await waitUntil(async () => events.some((e) => e.value === 'during'), 15_000), `the watch resumed and saw the write made while it was down: ${JSON.stringify({ events, states })}`)
  assert.ok(states.includes('disconnected'), `the watch noticed the outage: ${states.join(',')}`)
})

test('no member answering is OUTGROW_DCS_UNAVAILABLE, told apart from a failed precondition', async () => {
  const nowhere = new EtcdClient({ hosts: [`http://127.0.0.1:${await freePort()}`, `http://127.0.0.1:${await freePort()}`], callTimeoutMs: 500 })
  try {
    const calls = [
      async () => await nowhere.get('/outgrow/test/x'),
      async () => await nowhere.putIfAbsent('/outgrow/test/x', 'a'),
      async () => await nowhere.grantLease(2),
      async () => await nowhere.watch('/outgrow/test/x', { onEvent: () => {} }),
    ]
    for (const attempt of calls) await assert.rejects(attempt, (err: unknown) => isUnreachable(err) && !isPreconditionFailed(err))
  } finally {
    nowhere.close()
  }
})
