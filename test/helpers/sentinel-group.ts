import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRedisClient } from '../../src/runtime/redis-client.js'
import { askSentinels } from '../../src/supervisor/engines/redis-master.js'
import { RedisSentinel } from '../../src/supervisor/engines/redis-sentinel.js'
import { RedisServer } from '../../src/supervisor/engines/redis.js'
import { freePort } from '../../src/supervisor/free-port.js'
import { eventually } from './outage.js'

export const MASTER_NAME = 'outgrow-test'

/**
 * A Redis master, one replica and three Sentinels (quorum 2, master down after 1 s), as Outgrow
 * runs them, each on a free port in a temporary directory.
 */
export interface SentinelGroup {
  readonly nodes: readonly RedisServer[]
  readonly sentinels: readonly RedisSentinel[]
  /** What clients are configured with. */
  readonly target: { sentinels: Array<{ host: string, port: number }>, name: string }
  /** The port the Sentinels name as master now. */
  masterPort(): Promise<number | undefined>
  /** Starts a node again as the supervisor does: a replica of whatever master the Sentinels name. */
  restart(node: RedisServer): Promise<void>
  stop(): Promise<void>
}

/** INFO replication of a node. */
export async function replication (node: RedisServer): Promise<string> {
  const client = createRedisClient(node.url, { purpose: 'probe' })
  try {
    await client.connect()
    return await client.info('replication')
  } finally {
    client.disconnect()
  }
}

/** Until a replica has synced with its master (session writes wait for one). */
export async function waitForLink (node: RedisServer): Promise<void> {
  await eventually(async () => /master_link_status:up/.test(await replication(node)) ? true : undefined)
}

export async function startSentinelGroup (): Promise<SentinelGroup> {
  const dir = await mkdtemp(join(tmpdir(), 'outgrow-test-'))
  await chmod(dir, 0o755)
  const nodes: RedisServer[] = []
  const sentinels: RedisSentinel[] = []
  const stop = async (): Promise<void> => {
    await Promise.all(sentinels.map(async (s) => { await s.stop() }))
    await Promise.all(nodes.map(async (n) => { await n.stop() }))
    await rm(dir, { recursive: true, force: true })
  }
  const masterPort = async (): Promise<number | undefined> => (await askSentinels(sentinels.map((s) => s.options.port), MASTER_NAME))?.port
  try {
    for (const i of [1, 2]) nodes.push(new RedisServer({ name: `redis-${i}`, dataDir: join(dir, `redis-${i}`), logFile: join(dir, `redis-${i}.log`), port: await freePort(), persistent: true }))
    const [master, replica] = nodes as [RedisServer, RedisServer]
    await master.start()
    await replica.start(undefined, undefined, master.options.port)
    await waitForLink(replica)
    for (const i of [1, 2, 3]) {
      sentinels.push(new RedisSentinel({
        name: `sentinel-${i}`, dataDir: join(dir, `sentinel-${i}`), logFile: join(dir, `sentinel-${i}.log`), port: await freePort(),
        monitor: { masterName: MASTER_NAME, masterPort: master.options.port, quorum: 2, downAfterMs: 1000, failoverTimeoutMs: 3000 },
      }))
    }
    await Promise.all(sentinels.map(async (s) => { await s.start() }))
  } catch (err) {
    await stop()
    throw err
  }
  return {
    nodes,
    sentinels,
    target: { sentinels: sentinels.map((s) => ({ host: '127.0.0.1', port: s.options.port })), name: MASTER_NAME },
    masterPort,
    restart: async (node) => {
      const master = await masterPort()
      await node.start(undefined, undefined, master === node.options.port ? undefined : master)
    },
    stop,
  }
}
