import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EtcdServer, type EtcdPeer } from '../supervisor/engines/etcd.js'
import { freePort } from '../supervisor/free-port.js'

/**
 * A real etcd cluster for tests and benchmarks: members on free loopback ports in a temporary
 * directory. A missing etcd throws OUTGROW_ENGINE_MISSING with an install hint: a test fails,
 * never skips.
 */
export interface TestEtcdCluster {
  readonly members: readonly EtcdServer[]
  /** Client URLs of every member. */
  readonly hosts: readonly string[]
  /** Starts every member at once (a fresh cluster needs a quorum to become ready). */
  start(): Promise<void>
  stop(): Promise<void>
}

/** The members of a fresh cluster of `size`, not started yet. */
export async function etcdCluster (size = 3): Promise<TestEtcdCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'outgrow-test-'))
  const peers: EtcdPeer[] = []
  for (let i = 1; i <= size; i++) peers.push({ name: `etcd-${i}`, clientPort: await freePort(), peerPort: await freePort() })
  const clusterToken = `outgrow-test-${randomUUID()}`
  const members = peers.map((p) => new EtcdServer({ name: p.name, dataDir: join(dir, p.name), logFile: join(dir, `${p.name}.log`), cluster: peers, clusterToken }))
  return {
    members,
    hosts: members.map((m) => m.url),
    start: async () => { await Promise.all(members.map(async (m) => { await m.start() })) },
    stop: async () => {
      // One at a time: on SIGTERM a leader hands leadership to a connected member, and when that
      // member is stopping too the hand-over waits out etcd's request timeout (7 s here) first.
      for (const m of members) await m.stop().catch(() => {})
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** A fresh cluster of `size`, every member ready. */
export async function startEtcdCluster (size = 3): Promise<TestEtcdCluster> {
  const cluster = await etcdCluster(size)
  try {
    await cluster.start()
  } catch (err) {
    await cluster.stop()
    throw err
  }
  return cluster
}
