import { OutgrowError } from '../errors/index.js'
import type { StackConfig } from './stack-config.js'

export type Level = 1 | 2 | 3 | 4

/** The concrete shape of a stack: which servers run and which adapter each port uses. */
export interface Topology {
  readonly level: Level
  /** L1 puts the app and PostgreSQL on one emulated server; from L2 on they are separate. */
  readonly colocateDb: boolean
  readonly instances: number
  readonly replicas: number
  readonly workers: number
  readonly gateway: boolean
  readonly redis: boolean
  readonly cache: 'memory' | 'redis'
  readonly session: 'memory' | 'redis'
  readonly jobs: 'inprocess' | 'bullmq'
}

const PRESETS: Record<Level, Omit<Topology, 'level'>> = {
  1: { colocateDb: true, instances: 1, replicas: 0, workers: 0, gateway: false, redis: false, cache: 'memory', session: 'memory', jobs: 'inprocess' },
  2: { colocateDb: false, instances: 1, replicas: 0, workers: 0, gateway: false, redis: false, cache: 'memory', session: 'memory', jobs: 'inprocess' },
  3: { colocateDb: false, instances: 1, replicas: 0, workers: 0, gateway: false, redis: true, cache: 'redis', session: 'redis', jobs: 'inprocess' },
  4: { colocateDb: false, instances: 3, replicas: 1, workers: 1, gateway: true, redis: true, cache: 'redis', session: 'redis', jobs: 'bullmq' },
}

/** Level preset plus the config's explicit overrides, checked for combinations that cannot work. */
export function resolveTopology (config: StackConfig): Topology {
  const level = config.level as Level
  const preset = PRESETS[level]
  const topology: Topology = {
    level,
    ...preset,
    instances: config.instances ?? preset.instances,
    replicas: config.replicas ?? preset.replicas,
    workers: config.workers ?? preset.workers,
  }
  if (!topology.gateway && topology.instances > 1) {
    throw new OutgrowError('OUTGROW_CONFIG_INVALID', 'invalid config: instances: more than one instance needs the gateway of level 4', { field: 'instances' })
  }
  if (!topology.redis && topology.workers > 0) {
    throw new OutgrowError('OUTGROW_CONFIG_INVALID', 'invalid config: workers: worker processes need the Redis queue of level 4', { field: 'workers' })
  }
  if (topology.jobs === 'bullmq' && topology.workers === 0) {
    throw new OutgrowError('OUTGROW_CONFIG_INVALID', 'invalid config: workers: level 4 queues jobs in Redis and needs at least one worker', { field: 'workers' })
  }
  return topology
}
