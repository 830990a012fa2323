import type { HistogramBucket } from '../control/autoscaler/metrics-source.js'
import type { StackProcessInfo } from '../control/stack.js'
import type { QueueStats } from '../jobs/queue.js'
import type { ServerCpuReading } from '../supervisor/server-cpu.js'
import type { AppReading, GatewayReading, QueueReading } from './readings.js'
import type { CacheView, DashboardSample, DatabaseNodeView, EdgeView, InstanceView, JobsView, ProcessView, QueueView, ServerView } from './sample.js'
import { counterRate, dataRoleOf, lsnBytes, processStatus, quantileMs, serverView, sumBuckets } from './sample-math.js'

/** One PostgreSQL node as its own statistics views show it (sources.ts). */
export interface PgNodeReading {
  readonly at: number
  readonly inRecovery: boolean
  /** The primary's current WAL position; a replica's replayed position. */
  readonly lsn: string
  /** Statements run so far (pg_stat_statements), null where statement statistics are off. */
  readonly statements: number | null
  /** Transactions committed and rolled back so far (pg_stat_database). */
  readonly transactions: number
  readonly connections: number
  /** A replica: seconds since the last replayed transaction while WAL waits to be replayed, 0 when caught up. */
  readonly replayLagSeconds: number | null
}

export interface RedisReading {
  readonly opsPerSecond: number
  readonly usedMemoryBytes: number
}

/** Everything read for one sample; a source that failed or was late is absent from its map. */
export interface Readings {
  readonly t: number
  readonly apps: ReadonlyMap<string, AppReading>
  readonly gateways: ReadonlyMap<string, GatewayReading>
  readonly postgres: ReadonlyMap<string, PgNodeReading>
  readonly redis: ReadonlyMap<string, RedisReading>
  readonly servers: ReadonlyMap<string, ServerCpuReading>
  /** The queue server's queues (level 4); undefined without one or when it did not answer. */
  readonly jobs: readonly QueueStats[] | undefined
}

export interface SampleInput {
  readonly processes: readonly StackProcessInfo[]
  /** The Redis server the cache uses (spec.redis with role cache), for the instance → Redis edges. */
  readonly cacheRedis: string | undefined
  readonly current: Readings
  readonly previous: Readings | undefined
}

const secondsBetween = (a: { at: number } | undefined, b: { at: number }): number => a === undefined ? 0 : (b.at - a.at) / 1000

function databaseViews (input: SampleInput): DatabaseNodeView[] {
  const { current, previous } = input
  const nodes = input.processes.filter((p) => p.role === 'postgres')
  const primaryLsn = [...current.postgres.values()].find((r) => !r.inRecovery)?.lsn
  return nodes.flatMap((p): DatabaseNodeView[] => {
    const r = current.postgres.get(p.name)
    if (r === undefined) return []
    const before = previous?.postgres.get(p.name)
    const seconds = secondsBetween(before, r)
    const queries = r.statements !== null && before?.statements !== null && before !== undefined
      ? counterRate(before.statements ?? undefined, r.statements, seconds)
      : counterRate(before?.transactions, r.transactions, seconds)
    const lagBytes = r.inRecovery && primaryLsn !== undefined ? Math.max(0, lsnBytes(primaryLsn) - lsnBytes(r.lsn)) : null
    return [{ name: p.name, role: r.inRecovery ? 'replica' : 'primary', queriesPerSecond: queries, connections: r.connections, lagBytes, lagSeconds: r.inRecovery ? r.replayLagSeconds : null }]
  })
}

function edges (input: SampleInput, databases: readonly DatabaseNodeView[]): EdgeView[] {
  const { current, previous, processes } = input
  const result: EdgeView[] = []
  for (const [gateway, r] of current.gateways) {
    const before = previous?.gateways.get(gateway)
    const seconds = secondsBetween(before, r)
    for (const [upstream, count] of r.requests) result.push({ from: gateway, to: upstream, perSecond: counterRate(before?.requests.get(upstream), count, seconds) })
  }
  const primary = databases.find((d) => d.role === 'primary')?.name ?? processes.find((p) => p.role === 'postgres' && !/-replica-\d+$/.test(p.name))?.name
  const replicas = databases.filter((d) => d.role === 'replica').map((d) => d.name)
  const redisNodes = processes.filter((p) => p.role === 'redis' && (p.name === input.cacheRedis || p.name.startsWith(`${input.cacheRedis ?? ''}-`)))
  const cacheNode = redisNodes.find((p) => p.detail !== 'replica')?.name
  for (const [name, r] of current.apps) {
    const before = previous?.apps.get(name)
    const seconds = secondsBetween(before, r)
    if (primary !== undefined) result.push({ from: name, to: primary, perSecond: counterRate(before?.dbPrimary, r.dbPrimary, seconds) })
    // An instance counts replica reads without saying which replica: spread evenly over them.
    const replicaRate = counterRate(before?.dbReplica, r.dbReplica, seconds)
    for (const replica of replicas) result.push({ from: name, to: replica, perSecond: replicaRate / replicas.length })
    if (cacheNode !== undefined) result.push({ from: name, to: cacheNode, perSecond: counterRate(before === undefined ? undefined : before.cacheHits + before.cacheMisses, r.cacheHits + r.cacheMisses, seconds) })
  }
  return result
}

function cacheView (input: SampleInput): CacheView | null {
  const { current, previous } = input
  let hits = 0
  let lookups = 0
  for (const [name, r] of current.apps) {
    const before = previous?.apps.get(name)
    if (before === undefined) continue
    const restarted = r.cacheHits < before.cacheHits || r.cacheMisses < before.cacheMisses
    const h = restarted ? r.cacheHits : r.cacheHits - before.cacheHits
    hits += h
    lookups += h + (restarted ? r.cacheMisses : r.cacheMisses - before.cacheMisses)
  }
  const redis = [...current.redis.values()]
  const anyRedis = input.processes.some((p) => p.role === 'redis')
  if (lookups === 0 && !anyRedis) return null
  return {
    hitRatio: lookups === 0 ? null : hits / lookups,
    redisOpsPerSecond: redis.length === 0 ? null : redis.reduce((s, r) => s + r.opsPerSecond, 0),
    usedMemoryBytes: redis.length === 0 ? null : redis.reduce((s, r) => s + r.usedMemoryBytes, 0),
  }
}

function jobsView (input: SampleInput): JobsView | null {
  const { current, previous } = input
  let queues: QueueView[]
  if (current.jobs !== undefined) {
    queues = current.jobs.map((q) => ({ name: q.queue, waiting: q.waiting, active: q.active, delayed: q.delayed, failed: q.failed, oldestWaitingSeconds: q.oldestWaitingSeconds }))
  } else {
    // In-process queues (levels 1–3): each instance runs its own; the stack's is their sum.
    const merged = new Map<string, { waiting: number, active: number, delayed: number, failed: number, oldestWaitingSeconds: number | null }>()
    for (const r of current.apps.values()) {
      for (const [name, q] of r.queues) {
        const m = merged.get(name) ?? { waiting: 0, active: 0, delayed: 0, failed: 0, oldestWaitingSeconds: null }
        const add = (a: QueueReading): void => {
          m.waiting += a.waiting; m.active += a.active; m.delayed += a.delayed; m.failed += a.failed
          if (a.oldestWaitingSeconds !== null) m.oldestWaitingSeconds = Math.max(m.oldestWaitingSeconds ?? 0, a.oldestWaitingSeconds)
        }
        add(q)
        merged.set(name, m)
      }
    }
    queues = [...merged].map(([name, q]) => ({ name, ...q }))
  }
  let completed = 0
  let runSeconds = 0
  let runs = 0
  for (const [name, r] of current.apps) {
    const before = previous?.apps.get(name)
    const seconds = secondsBetween(before, r)
    completed += counterRate(before?.jobsCompleted, r.jobsCompleted, seconds)
    if (before !== undefined && r.jobRuns >= before.jobRuns) {
      runs += r.jobRuns - before.jobRuns
      runSeconds += r.jobRunSeconds - before.jobRunSeconds
    }
  }
  if (queues.length === 0 && completed === 0) return null
  return { queues, completedPerSecond: completed, meanRunMs: runs === 0 ? null : runSeconds / runs * 1000 }
}

/** The sample the page draws, from this round's readings and the previous round's. */
export function buildSample (input: SampleInput): DashboardSample {
  const { current, previous, processes } = input
  const healthy = new Map<string, boolean>()
  for (const g of current.gateways.values()) for (const [id, up] of g.healthy) healthy.set(id, (healthy.get(id) ?? false) || up)
  const seconds = previous === undefined ? 0 : (current.t - previous.t) / 1000
  const servers: ServerView[] = [...current.servers].map(([name, reading]) => serverView(name, previous?.servers.get(name), reading, seconds))
  const serverOf = new Map(servers.map((s) => [s.name, s]))
  const views: ProcessView[] = processes.map((p) => ({
    name: p.name,
    role: p.role,
    server: p.server,
    status: processStatus(p, p.role === 'app' ? healthy.get(p.name) : undefined),
    restarts: p.restarts,
    pid: p.pid ?? null,
    dataRole: dataRoleOf(p, current.postgres.get(p.name)?.inRecovery),
    detail: p.detail ?? null,
  }))
  const instances: InstanceView[] = processes.filter((p) => p.role === 'app').map((p) => {
    const r = current.apps.get(p.name)
    const before = previous?.apps.get(p.name)
    const server = serverOf.get(p.server)
    const serverCpu = server === undefined || server.quotaCores <= 0 || previous === undefined ? null : server.cpuCores / server.quotaCores
    if (r === undefined) return { name: p.name, requestsPerSecond: 0, p50Ms: null, p99Ms: null, errorsPerSecond: 0, elu: null, inFlight: 0, serverCpu }
    const s = secondsBetween(before, r)
    return {
      name: p.name,
      requestsPerSecond: counterRate(before?.requests, r.requests, s),
      p50Ms: quantileMs(before?.buckets, r.buckets, 0.5),
      p99Ms: quantileMs(before?.buckets, r.buckets, 0.99),
      errorsPerSecond: counterRate(before?.errors, r.errors, s),
      elu: r.elu,
      inFlight: r.inFlight,
      serverCpu,
    }
  })
  const database = databaseViews(input)
  const total = stackTotal(input, instances)
  return { t: current.t, processes: views, servers, instances, edges: edges(input, database), database, cache: cacheView(input), jobs: jobsView(input), total }
}

/** What the entry point served: the gateways' view when there is one, else the instances' sum. */
function stackTotal (input: SampleInput, instances: readonly InstanceView[]): DashboardSample['total'] {
  const { current, previous } = input
  if (current.gateways.size > 0) {
    let requests = 0
    let errors = 0
    const now: Array<readonly HistogramBucket[]> = []
    const before: typeof now = []
    for (const [name, g] of current.gateways) {
      const p = previous?.gateways.get(name)
      const s = secondsBetween(p, g)
      for (const [id, n] of g.requests) requests += counterRate(p?.requests.get(id), n, s)
      for (const [id, n] of g.errors) errors += counterRate(p?.errors.get(id), n, s)
      if (p !== undefined) { now.push(g.buckets); before.push(p.buckets) }
    }
    return { requestsPerSecond: requests, errorsPerSecond: errors, p99Ms: now.length === 0 ? null : quantileMs(sumBuckets(before), sumBuckets(now), 0.99) }
  }
  const both = [...current.apps].filter(([name]) => previous?.apps.has(name) === true)
  const p99Ms = both.length === 0 ? null : quantileMs(sumBuckets(both.map(([name]) => previous?.apps.get(name)?.buckets ?? [])), sumBuckets(both.map(([, r]) => r.buckets)), 0.99)
  return { requestsPerSecond: instances.reduce((s, i) => s + i.requestsPerSecond, 0), errorsPerSecond: instances.reduce((s, i) => s + i.errorsPerSecond, 0), p99Ms }
}
