/**
 * Outgrow's HA agent under test: three nodes from src/lab/ha-nodes.ts (a primary and two replicas
 * cloned with slots), one agent process each (src/ha/agent-main.ts) with the default settings:
 * synchronous mode, 3 s leader lease.
 */
import { haConfig } from '../../src/ha/config.js'
import type { EtcdClient } from '../../src/ha/dcs/etcd-client.js'
import { createHaNodes, type HaNodes } from '../../src/lab/ha-nodes.js'
import { pollUntil } from '../../src/lab/poll.js'
import { NODE_NAMES, signalPostgres, type HaSystem } from './system.js'

const CLUSTER = 'bench-failover'

export async function outgrowSystem (etcdHosts: readonly string[], etcd: EtcdClient): Promise<HaSystem> {
  const nodes: HaNodes = await createHaNodes(NODE_NAMES, etcdHosts, CLUSTER)
  const defaults = haConfig()
  const leader = async (): Promise<string | null> => (await etcd.get(`/outgrow/${CLUSTER}/leader`).catch(() => undefined))?.value ?? null
  return {
    name: 'outgrow',
    nodes: nodes.nodes.map((n) => ({ name: n.name, url: n.url })),
    settings: {
      'leader lease (ttlMs)': defaults.ttlMs,
      loopWaitMs: defaults.loopWaitMs,
      retryTimeoutMs: defaults.retryTimeoutMs,
      safetyMarginMs: defaults.safetyMarginMs,
      fenceTimeoutMs: defaults.fenceTimeoutMs,
      synchronousMode: defaults.synchronousMode,
      'synchronous_standby_names': 'ANY 1 (the replicas)',
      'fence keeper (watchdog role)': 'on, a process beside each agent',
    },
    start: async () => {
      // The existing primary's agent first: it takes the key; the replicas' agents then follow it.
      await nodes.startAgent('a')
      if (!await pollUntil(async () => await leader() === 'a', 60_000)) throw new Error(`a did not take the leader key\n${nodes.agentLog('a')}`)
      await Promise.all(['b', 'c'].map(async (name) => { await nodes.startAgent(name) }))
    },
    leader,
    signal: (name, signal) => {
      signalPostgres(nodes.node(name).options.dataDir, signal)
      nodes.node(name).agent?.kill(signal)
    },
    restart: async (name) => { await nodes.startAgent(name) },
    logs: (name) => nodes.agentLog(name, 15),
    stop: async () => { await nodes.stop() },
  }
}
