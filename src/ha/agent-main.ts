/**
 * Entry of one HA agent process: one per PostgreSQL node, run as a unit with its server. Reads
 * OUTGROW_HA_AGENT (JSON, below), bootstraps an empty data dir (bootstrap.ts: initdb by the member
 * that wins the initialize key, else a clone of the leader), starts the fence keeper, starts PostgreSQL (fenced on disk),
 * runs the agent loop over etcd, reports ready over IPC, and prints one JSON line on stdout each
 * time the agent's sentence or outcome changes (a steady "no action" is printed once).
 *
 * Stopping (SIGTERM, or the supervisor gone): the loop ends, PostgreSQL is fenced and stopped, and
 * this member's leases are revoked, so that another member takes over at once.
 */
import { join, dirname } from 'node:path'
import { z } from 'zod'
import { systemClock } from '../control/clock.js'
import { onShutdown, reportReady } from '../runtime/lifecycle.js'
import { PostgresServer } from '../supervisor/engines/postgres.js'
import { HaAgent, type HaEvent } from './agent.js'
import { bootstrapDataDir } from './bootstrap.js'
import { haConfig } from './config.js'
import { EtcdClient } from './dcs/etcd-client.js'
import { EtcdDcs } from './dcs/etcd.js'
import { FenceKeeper } from './fence-keeper.js'
import { PgLocalPostgres } from './pg-local.js'
import { PgNode } from './pg-node.js'

const peerSchema = z.object({ host: z.string(), port: z.number().int() }).strict()

export const agentProcessSchema = z.object({
  /** Member name (also this server's application_name and replication slot). */
  name: z.string().regex(/^[a-z0-9_-]+$/, 'lower-case letters, digits, _ and - (its slot name has _ for -)'),
  cluster: z.string().min(1),
  etcdHosts: z.array(z.string().url()).min(1),
  /** HaConfigInput (config.ts); its invariants are checked at start. */
  ha: z.record(z.unknown()).default({}),
  postgres: z.object({
    name: z.string(),
    dataDir: z.string(),
    logFile: z.string(),
    port: z.number().int(),
    durable: z.boolean().optional(),
    settings: z.record(z.string()).optional(),
  }).strict(),
  /** Every member's PostgreSQL address, this one's included. */
  peers: z.record(peerSchema),
}).strict()

/**
 * Settings every HA node runs with: no Unix socket in the data directory (pg_rewind copies the
 * source's data directory and fails on a socket file in it; the agent and clients use TCP), and a
 * standby that lost its primary retries streaming every 500 ms rather than every 5 s.
 */
const HA_SETTINGS: Readonly<Record<string, string>> = { unix_socket_directories: '', wal_retrieve_retry_interval: '500ms' }

export type AgentProcessConfig = z.input<typeof agentProcessSchema>

async function main (): Promise<void> {
  const config = agentProcessSchema.parse(JSON.parse(process.env.OUTGROW_HA_AGENT ?? 'null'))
  const ha = haConfig(config.ha)
  const client = new EtcdClient({ hosts: config.etcdHosts, callTimeoutMs: ha.retryTimeoutMs })
  const dcs = new EtcdDcs({ client, cluster: config.cluster, leaderTtlMs: ha.ttlMs })
  const postgresOptions = { ...config.postgres, settings: { ...HA_SETTINGS, ...config.postgres.settings } }
  const bootstrap = await bootstrapDataDir({ name: config.name, dcs, postgres: postgresOptions, peers: config.peers })
  const server = PostgresServer.open(postgresOptions)
  const keeper = await FenceKeeper.start({
    url: server.adminUrl, fenceTimeoutMs: ha.fenceTimeoutMs, logFile: join(dirname(config.postgres.logFile), `${config.name}-fence-keeper.log`),
  })
  const node = new PgNode(server, keeper)
  const postgres = new PgLocalPostgres({
    name: config.name, node, keeper, peers: config.peers, requestTimeoutMs: ha.retryTimeoutMs, strictSync: ha.synchronousModeStrict,
  })
  let last = ''
  const print = (event: HaEvent): void => {
    const key = `${event.message}|${event.outcome}`
    if (key === last) return
    last = key
    process.stdout.write(`${JSON.stringify(event)}\n`)
  }
  const agent = new HaAgent({ name: config.name, dcs, postgres, clock: systemClock, config: ha, onEvent: print })

  onShutdown(async () => {
    await agent.stop()
    await postgres.fence().catch(() => {})
    postgres.close()
    await node.shutdown()
    await dcs.revokeLeases()
    keeper.close()
    client.close()
  }, { graceMs: 20_000 })
  // A leader key naming this member outlived this agent's previous process, and its PostgreSQL
  // stopped with it (the keeper fenced it, the kernel stopped it): hand the key over at once, so a
  // standby takes over now rather than this node resuming after a crash; it rejoins as a replica.
  const before = await dcs.getCluster().catch(() => null)
  if (bootstrap === 'existing' && before?.leader?.name === config.name) await dcs.deleteLeader(config.name).catch(() => false)
  await node.start()
  agent.start()
  reportReady({ role: 'ha-agent', name: config.name, bootstrap, postmasterPid: server.process.pid, keeperPid: keeper.pid })
}

main().catch((err: unknown) => {
  const e = err as { code?: string, message?: string }
  console.error(`${e.code ?? 'OUTGROW_INTERNAL'}: ${e.message ?? String(err)}`)
  process.exit(1)
})
