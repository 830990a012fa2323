/**
 * A node whose data directory is empty (Patroni's bootstrap): the one member whose transaction
 * creates the initialize key runs initdb and becomes the first leader; every other member waits
 * for a leader and clones it with pg_basebackup, with a replication slot of its own on the leader.
 * A data directory that already holds a cluster is kept: the agent rejoins it as it finds it.
 */
import { rm } from 'node:fs/promises'
import { OutgrowError } from '../errors/index.js'
import { PostgresServer, type PostgresOptions } from '../supervisor/engines/postgres.js'
import type { EtcdDcs } from './dcs/etcd.js'
import type { Peer } from './pg-status.js'

export interface BootstrapOptions {
  readonly name: string
  readonly dcs: EtcdDcs
  readonly postgres: PostgresOptions
  readonly peers: Readonly<Record<string, Peer>>
  /** How long a member waits for a leader to clone from (ms). */
  readonly timeoutMs?: number
}

export type BootstrapResult = 'existing' | 'initialized' | 'cloned'

export async function bootstrapDataDir (o: BootstrapOptions): Promise<BootstrapResult> {
  if (PostgresServer.exists(o.postgres.dataDir)) return 'existing'
  const timeoutMs = o.timeoutMs ?? 120_000
  const deadline = Date.now() + timeoutMs
  let last = ''
  for (;;) {
    if (await o.dcs.initialize(o.name).catch(() => false)) {
      try {
        // A directory left by an interrupted initdb would make initdb refuse.
        await rm(o.postgres.dataDir, { recursive: true, force: true })
        await PostgresServer.createPrimary(o.postgres)
      } catch (err) {
        await o.dcs.cancelInitialize(o.name).catch(() => {})
        throw err
      }
      return 'initialized'
    }
    const snapshot = await o.dcs.getCluster().catch(() => null)
    const leader = snapshot?.leader?.name
    const record = snapshot?.members.find((m) => m.name === leader)
    const peer = leader === undefined ? undefined : o.peers[leader]
    if (leader !== o.name && record?.role === 'primary' && record.healthy && peer !== undefined) {
      try {
        await rm(o.postgres.dataDir, { recursive: true, force: true })
        await PostgresServer.createReplica({ port: peer.port }, o.postgres)
        return 'cloned'
      } catch (err) {
        last = `: ${(err as Error).message.split('\n')[0] ?? ''}`
      }
    }
    if (Date.now() > deadline) {
      throw new OutgrowError('OUTGROW_ENGINE_START_FAILED', `${o.name}: no leader to clone from after ${Math.round(timeoutMs / 1000)} s${last}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 300))
  }
}
