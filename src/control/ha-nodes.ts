import type { HaConfigInput } from '../ha/config.js'
import type { PostgresClusterSpec, TopologySpec } from './spec.js'
import { serverFor } from './spec.js'

/**
 * A PostgreSQL cluster with `ha.enabled` as units: nodes `<cluster>-1 … <cluster>-<1 + replicas>`,
 * each an HA agent process that owns its PostgreSQL (src/ha/agent-main.ts). The unit name is also
 * the node's member name in etcd, its application_name on the leader and (with _ for -) its slot.
 */
export const haNodeName = (cluster: string, i: number): string => `${cluster}-${i}`
export const haGroup = (cluster: string): string => `databases/${cluster}/nodes`

export function isHa (spec: TopologySpec, cluster: string): boolean {
  return spec.databases[cluster]?.ha.enabled === true
}

/** Every node of an HA cluster, in ordinal order (empty when the cluster is not HA). */
export function haNodeNames (spec: TopologySpec, cluster: string): string[] {
  const db = spec.databases[cluster]
  if (db?.ha.enabled !== true) return []
  return Array.from({ length: 1 + db.replicas.count }, (_, i) => haNodeName(cluster, i + 1))
}

/** Node 1 goes where the primary would, node i + 1 where replica i would. */
export function haNodeServer (db: PostgresClusterSpec, ordinal: number): string {
  return ordinal === 1 ? serverFor(db.primary.server, 1) : serverFor(db.replicas.server, ordinal - 1)
}

/** The agent's timing and election settings for a cluster (defaults for what the spec leaves out). */
export function haConfigInput (db: PostgresClusterSpec): HaConfigInput {
  const { ttlMs, loopWaitMs, retryTimeoutMs, safetyMarginMs } = db.ha
  const timing = Object.fromEntries(Object.entries({ ttlMs, loopWaitMs, retryTimeoutMs, safetyMarginMs }).filter(([, v]) => v !== undefined))
  return { ...timing, synchronousMode: db.replication === 'sync', synchronousModeStrict: db.ha.strict }
}
