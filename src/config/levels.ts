import { redisFor, type TopologySpec } from '../control/spec.js'

export type { Level } from '../control/presets.js'

/** A topology in a few numbers, for reports and status lines. */
export interface Topology {
  readonly level: number
  /** Level 1 puts the app and PostgreSQL on one emulated server. */
  readonly colocateDb: boolean
  readonly instances: number
  readonly replicas: number
  readonly workers: number
  readonly gateway: boolean
  readonly redis: boolean
  /** Redis servers failed over by Sentinel (level 4 unless --no-ha). */
  readonly redisFailover: boolean
  readonly cache: 'none' | 'memory' | 'redis'
  readonly session: 'memory' | 'redis'
  readonly jobs: 'inprocess' | 'bullmq'
}

const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0)

export function summarize (spec: TopologySpec): Topology {
  const primaries = new Set(Object.values(spec.databases).map((d) => d.primary.server))
  return {
    level: spec.level ?? 0,
    colocateDb: Object.values(spec.services).some((s) => primaries.has(s.server)),
    instances: sum(Object.values(spec.services).map((s) => s.instances.count)),
    replicas: sum(Object.values(spec.databases).map((d) => d.replicas.count)),
    workers: sum(Object.values(spec.workers).map((w) => w.instances.count)),
    gateway: Object.keys(spec.gateways).length > 0,
    redis: Object.keys(spec.redis).length > 0,
    redisFailover: Object.values(spec.redis).some((r) => r.sentinel.enabled),
    cache: redisFor(spec, 'cache') !== undefined ? 'redis' : Object.values(spec.services).every((s) => s.localCache === 'none') ? 'none' : 'memory',
    session: redisFor(spec, 'sessions') === undefined ? 'memory' : 'redis',
    jobs: redisFor(spec, 'queue') === undefined ? 'inprocess' : 'bullmq',
  }
}
