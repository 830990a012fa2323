import type { StackInfo } from '../control/stack.js'
import type { QueueStats } from '../jobs/queue.js'
import type { ServerCpuReading } from '../supervisor/server-cpu.js'
import { buildSample, type PgNodeReading, type Readings, type RedisReading } from './build-sample.js'
import { APP_FAMILIES, parseAppMetrics, parseGatewayMetrics, type AppReading, type GatewayReading } from './readings.js'
import type { DashboardSample } from './sample.js'
import { LiveSources, SOURCE_BUDGET_MS, withinBudget, type DashboardSources } from './sources.js'

/** What the collector reads from the stack (the Stack itself, or a fake in tests). */
export interface CollectorHost {
  info(): StackInfo
  serverCpu(server: string): ServerCpuReading | undefined
  /** The Redis server the cache uses, by name. */
  cacheRedis(): string | undefined
  /** The queue server's queues; undefined when the stack has none (jobs run inside the instances). */
  jobStats(): Promise<QueueStats[]> | undefined
}

export interface CollectorOptions {
  readonly host: CollectorHost
  /** A fresh set of sources each time watching starts; closed when it stops. */
  readonly sources?: () => DashboardSources
  readonly intervalMs?: number
  /** How much history `hello` carries (ms). */
  readonly historyMs?: number
  /** How long sampling goes on after the last watcher left (ms). */
  readonly idleStopMs?: number
  readonly budgetMs?: number
}

/**
 * Samples the stack for the dashboard, only while someone watches: the first subscriber starts
 * the clock, and it stops `idleStopMs` after the last one left, connections closed, so a stack
 * nobody watches (under `outgrow bench`, say) pays nothing. Keeps the last `historyMs` of samples.
 */
export class DashboardCollector {
  readonly intervalMs: number
  readonly #host: CollectorHost
  readonly #newSources: () => DashboardSources
  readonly #historyMs: number
  readonly #idleStopMs: number
  readonly #budgetMs: number
  readonly #listeners = new Set<(sample: DashboardSample) => void>()
  readonly #history: DashboardSample[] = []
  #sources: DashboardSources | undefined
  #previous: Readings | undefined
  #timer: NodeJS.Timeout | undefined
  #idleTimer: NodeJS.Timeout | undefined
  #busy = false
  #closed = false

  constructor (options: CollectorOptions) {
    this.#host = options.host
    this.#newSources = options.sources ?? (() => new LiveSources())
    this.intervalMs = options.intervalMs ?? 1000
    this.#historyMs = options.historyMs ?? 600_000
    this.#idleStopMs = options.idleStopMs ?? 30_000
    this.#budgetMs = options.budgetMs ?? SOURCE_BUDGET_MS
  }

  /** Whether samples are being taken now. */
  get running (): boolean { return this.#timer !== undefined }

  history (): DashboardSample[] { return [...this.#history] }

  /** Calls listener with every new sample; starts sampling if it was stopped. Returns the unsubscribe. */
  subscribe (listener: (sample: DashboardSample) => void): () => void {
    if (this.#closed) return () => {}
    this.#listeners.add(listener)
    clearTimeout(this.#idleTimer)
    this.#idleTimer = undefined
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => { void this.#tick() }, this.intervalMs)
      void this.#tick()
    }
    return () => {
      this.#listeners.delete(listener)
      if (this.#listeners.size > 0 || this.#timer === undefined) return
      clearTimeout(this.#idleTimer)
      this.#idleTimer = setTimeout(() => { void this.#stop() }, this.#idleStopMs)
      this.#idleTimer.unref()
    }
  }

  async #tick (): Promise<void> {
    // A round still under way (a slow source) is not overtaken: the next one waits for the next tick.
    if (this.#busy || this.#closed) return
    this.#busy = true
    try {
      const sample = await this.collect()
      for (const listener of this.#listeners) listener(sample)
    } catch {
      // The stack went down under the collector (info() throws once it is stopped); nothing to draw.
    } finally {
      this.#busy = false
    }
  }

  /** One round: read every source at once, then build the sample against the previous round. */
  async collect (now = Date.now()): Promise<DashboardSample> {
    this.#sources ??= this.#newSources()
    const info = this.#host.info()
    const current = await this.#read(this.#sources, info, now)
    const sample = buildSample({ processes: info.processes, cacheRedis: this.#host.cacheRedis(), current, previous: this.#previous })
    this.#previous = current
    this.#history.push(sample)
    while (this.#history.length > 0 && (this.#history[0]?.t ?? now) < now - this.#historyMs) this.#history.shift()
    return sample
  }

  async #read (sources: DashboardSources, info: StackInfo, now: number): Promise<Readings> {
    const budget = this.#budgetMs
    const live = info.processes.filter((p) => p.state === 'ready' && p.url !== undefined)
    const apps = new Map<string, AppReading>()
    const gateways = new Map<string, GatewayReading>()
    const postgres = new Map<string, PgNodeReading>()
    const redis = new Map<string, RedisReading>()
    const servers = new Map<string, ServerCpuReading>()
    let jobs: QueueStats[] | undefined
    const reads: Array<Promise<void>> = live.map(async (p) => {
      const url = p.url as string
      if ((p.role === 'app' || p.role === 'worker') && p.metricsUrl !== undefined) {
        const r = await withinBudget(budget, async (signal) => parseAppMetrics(await sources.metrics(p.metricsUrl as string, signal, APP_FAMILIES), Date.now()))
        if (r !== undefined) apps.set(p.name, r)
      } else if (p.role === 'gateway' && p.metricsUrl !== undefined) {
        const r = await withinBudget(budget, async (signal) => parseGatewayMetrics(await sources.metrics(p.metricsUrl as string, signal), Date.now()))
        if (r !== undefined) gateways.set(p.name, r)
      } else if (p.role === 'postgres' && url.startsWith('postgres')) {
        const r = await withinBudget(budget, async () => await sources.postgres(p.name, url))
        if (r !== undefined) postgres.set(p.name, r)
      } else if (p.role === 'redis' && url.startsWith('redis')) {
        const r = await withinBudget(budget, async () => await sources.redis(p.name, url))
        if (r !== undefined && Number.isFinite(r.opsPerSecond)) redis.set(p.name, r)
      }
    })
    reads.push((async () => {
      const stats = this.#host.jobStats()
      if (stats !== undefined) jobs = await withinBudget(budget, async () => await stats)
    })())
    for (const server of new Set(info.processes.map((p) => p.server))) {
      try {
        const reading = this.#host.serverCpu(server)
        if (reading !== undefined) servers.set(server, reading)
      } catch {}
    }
    await Promise.all(reads)
    return { t: now, apps, gateways, postgres, redis, servers, jobs }
  }

  async #stop (): Promise<void> {
    clearInterval(this.#timer)
    clearTimeout(this.#idleTimer)
    this.#timer = undefined
    this.#idleTimer = undefined
    this.#previous = undefined
    const sources = this.#sources
    this.#sources = undefined
    await sources?.close().catch(() => {})
  }

  async close (): Promise<void> {
    this.#closed = true
    this.#listeners.clear()
    await this.#stop()
  }
}
