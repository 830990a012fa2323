import type { InstancesSpec, TopologySpec } from './spec.js'

/** The most copies a group may run: its max when it autoscales, else its count. */
export function maxCopies (instances: InstancesSpec): number {
  return Math.max(instances.count, instances.max ?? 0)
}

/**
 * PostgreSQL connections each cluster may be asked for at the largest size the spec allows:
 * every instance and worker opens up to its pool size to the primary, and as many to each replica.
 */
export function connectionDemand (spec: TopologySpec): Map<string, number> {
  const demand = new Map<string, number>()
  const add = (cluster: string, n: number): void => { demand.set(cluster, (demand.get(cluster) ?? 0) + n) }
  for (const s of Object.values(spec.services)) add(s.database, maxCopies(s.instances) * s.pool.size)
  for (const w of Object.values(spec.workers)) {
    const service = spec.services[w.service]
    if (service !== undefined) add(service.database, maxCopies(w.instances) * w.pool.size)
  }
  return demand
}

/**
 * The client connections a PgBouncer accepts (`max_client_conn`) for a cluster with this demand:
 * twice the demand, for rolling restarts and pools being replaced, rounded up to a thousand and
 * at least a thousand, so scaling within that range does not change — and restart — the pooler.
 */
export function poolerClientLimit (demand: number): number {
  return Math.max(1000, Math.ceil((2 * demand) / 1000) * 1000)
}
