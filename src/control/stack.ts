import { randomBytes } from 'node:crypto'
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import type { Redis } from 'ioredis'
import type { LoadedConfig } from '../config/load.js'
import { summarize, type Topology } from '../config/levels.js'
import { PgDatabase } from '../data/pg-database.js'
import { ensureOutboxTables } from '../outbox/outbox-table.js'
import { OutgrowError } from '../errors/index.js'
import { redisTargetOf } from '../config/redis-target.js'
import type { CpuProfile } from '../runtime/cpu-profiler.js'
import { createRedisClient } from '../runtime/redis-client.js'
import { importService } from '../runtime/service.js'
import type { CpuProfileOptions } from '../supervisor/cpu-profile-request.js'
import { createTemporaryDataDir } from '../supervisor/data-dir.js'
import { createEmulation, type ServerEmulation } from '../supervisor/emulation.js'
import type { ServerCpuReading } from '../supervisor/server-cpu.js'
import { postgresBinDir } from '../supervisor/engines/binaries.js'
import { postgresDataRoot } from '../supervisor/engines/pg-data-root.js'
import { createStatementStatsExtension } from '../supervisor/engines/pg-statement-stats.js'
import { portIsFree } from '../supervisor/free-port.js'
import { killTree } from '../lab/chaos/process-tree.js'
import { startControlApi, type ControlApi } from './api.js'
import { AutoscaleController, type AutoscaleRecord } from './autoscaler/controller.js'
import { assertNoLiveSupervisor, createControlToken, dashboardUrlOf, removeControlFiles, writeControlEndpoint } from './control-files.js'
import { profileStackProcess } from './cpu-profile.js'
import { EventLog } from './event-log.js'
import { HaMonitor, type HaClusterView, type HaNodeRole } from './ha-monitor.js'
import { haGroup } from './ha-nodes.js'
import { LocalExecutor } from './executors/local.js'
import { redisTarget } from './executors/process-configs.js'
import type { ObservedUnit } from './observed.js'
import { Reconciler } from './reconciler.js'
import { StackJobs } from './stack-jobs.js'
import type { TopologySpec } from './spec.js'
import { etcdMembers, type UnitKind } from './units.js'
import { ScrapeTargetsFile } from './scrape-targets.js'
import { StackPrometheus } from './stack-prometheus.js'
import { stackIsDown, stackIsUp } from './live-stacks.js'

export interface StackOptions {
  readonly loaded: LoadedConfig
  /** Keep data here (kept after down); a fresh temporary directory, removed on down, when absent. */
  readonly dataDir?: string
  /** Delete what dataDir holds first. */
  readonly fresh?: boolean
  readonly log?: (line: string) => void
  /** fsync on in PostgreSQL (default); tests turn it off for speed. */
  readonly durable?: boolean
  /** Seed a fresh database (default true); the schema is created either way. */
  readonly seed?: boolean
  /** Serve the control API (default true). */
  readonly control?: boolean
  /** How long `up` waits for everything to be ready (ms). */
  readonly startTimeoutMs?: number
  /** How often autoscaled groups are evaluated (ms; default 2000). */
  readonly autoscaleSyncMs?: number
  /** Run a Prometheus that scrapes the stack (`outgrow up --prometheus`). */
  readonly prometheus?: boolean | { readonly scrapeIntervalSeconds?: number }
}

export type ProcessRole = 'app' | 'worker' | 'gateway' | 'postgres' | 'pooler' | 'redis' | 'sentinel' | 'consensus'

export interface StackProcessInfo {
  readonly name: string
  readonly role: ProcessRole
  readonly server: string
  readonly pid: number | undefined
  readonly state: ObservedUnit['state']
  readonly restarts: number
  readonly url?: string | undefined
  readonly metricsUrl?: string | undefined
  readonly detail?: string | undefined
  /** An HA node: its role in the store (none while it has no live record) and its processes' pids. */
  readonly ha?: { readonly role: HaNodeRole | 'none', readonly pids: Readonly<Record<string, number | undefined>> } | undefined
}

export interface StackInfo {
  readonly level: number
  readonly topology: Topology
  readonly url: string
  readonly emulation: string
  readonly dataDir: string
  readonly processes: readonly StackProcessInfo[]
  /** Failover with election: on when a database cluster runs as HA nodes; each cluster as etcd shows it. */
  readonly ha: { readonly enabled: boolean, readonly clusters: Readonly<Record<string, HaClusterView>> }
  /** The stack's Prometheus (`--prometheus`), when it runs one. */
  readonly prometheus?: string | undefined
}

/** How long a stop waits for the actions under way before it stops what runs (see down). */
const SETTLE_BEFORE_STOP_MS = 5000

const ROLE: Record<UnitKind, ProcessRole> = { etcd: 'consensus', 'postgres-primary': 'postgres', 'postgres-replica': 'postgres', 'postgres-ha': 'postgres', pgbouncer: 'pooler', redis: 'redis', 'redis-sentinel': 'sentinel', app: 'app', worker: 'worker', gateway: 'gateway' }

function publicUrl (spec: TopologySpec): string {
  const gateway = Object.values(spec.gateways)[0]
  const listen = gateway ?? Object.values(spec.services).find((s) => s.listen !== undefined)?.listen
  if (listen === undefined) return ''
  const host = listen.host === '0.0.0.0' || listen.host === '::' ? '127.0.0.1' : listen.host
  return `http://${host.includes(':') ? `[${host}]` : host}:${listen.port}`
}

/**
 * A running stack on this machine: the desired spec, the reconciler that makes the processes
 * match it, the local executor that runs them, the event log and the control API.
 */
export class Stack {
  readonly #options: StackOptions
  readonly #log: (line: string) => void
  #dataDir = ''
  #ownsDataDir = false
  #emulation: ServerEmulation | undefined
  #executor: LocalExecutor | undefined
  #reconciler: Reconciler | undefined
  #api: ControlApi | undefined
  #events: EventLog | undefined
  #autoscaler: AutoscaleController | undefined
  #queueClient: Redis | undefined
  #jobs: StackJobs | undefined
  #ha: HaMonitor | undefined
  #scrapeTargets: ScrapeTargetsFile | undefined
  #prometheus: StackPrometheus | undefined
  #stopping: Promise<void> | undefined
  /** The start under way; a stop that comes during it waits for it to give up first. */
  #starting: Promise<StackInfo> | undefined
  #controlToken: string | undefined
  readonly #downRequests = new Set<(actor: string) => void>()

  constructor (options: StackOptions) {
    this.#options = options
    this.#log = options.log ?? (() => {})
  }

  get events (): EventLog {
    if (this.#events === undefined) throw new OutgrowError('OUTGROW_INTERNAL', 'stack is not up')
    return this.#events
  }

  get spec (): TopologySpec { return this.#reconciler?.spec ?? this.#options.loaded.spec }
  get controlUrl (): string | undefined { return this.#api?.url }
  /** The live dashboard, with the token that signs the browser in (`outgrow up` prints it). */
  get dashboardUrl (): string | undefined { return this.#api === undefined || this.#controlToken === undefined ? undefined : dashboardUrlOf(this.#api.url, this.#controlToken) }
  get dataDir (): string { return this.#dataDir }

  async up (): Promise<StackInfo> {
    stackIsUp(this)
    try {
      this.#starting = this.#up()
      return await this.#starting
    } catch (err) {
      await this.down()
      throw err
    }
  }

  async #up (): Promise<StackInfo> {
    const spec = this.#options.loaded.spec
    const url = publicUrl(spec)
    this.#ownsDataDir = this.#options.dataDir === undefined
    this.#dataDir = this.#options.dataDir ?? await createTemporaryDataDir()
    this.#throwIfStopping()
    assertNoLiveSupervisor(this.#dataDir)
    for (const port of [...Object.values(spec.gateways).map((g) => [g.port, g.host] as const), ...Object.values(spec.services).flatMap((s) => s.listen === undefined ? [] : [[s.listen.port, s.listen.host] as const])]) {
      if (port[0] !== 0 && !await portIsFree(port[0], port[1])) {
        throw new OutgrowError('OUTGROW_PORT_UNAVAILABLE', `port ${port[0]} is in use: stop what holds it or pass --port`)
      }
    }
    if (this.#options.fresh === true) {
      await rm(join(this.#dataDir, 'data'), { recursive: true, force: true })
      await rm(postgresDataRoot(this.#dataDir), { recursive: true, force: true })
      await rm(join(this.#dataDir, 'ports.json'), { force: true })
      await rm(join(this.#dataDir, 'prometheus'), { recursive: true, force: true })
    }
    await mkdir(join(this.#dataDir, 'logs'), { recursive: true })
    // PostgreSQL runs as its own OS user and must be able to traverse to its data dir.
    await chmod(this.#dataDir, 0o755)
    const events = this.#events = new EventLog(join(this.#dataDir, 'events.jsonl'))
    const emulation = this.#emulation = createEmulation(spec.emulation.mode, `${process.pid}-${randomBytes(3).toString('hex')}`, spec.emulation.cpusPerServer)
    this.#log(`level ${spec.level ?? '-'}: servers emulated by ${emulation.describe()}`)
    const executor = this.#executor = new LocalExecutor({
      dataDir: this.#dataDir, emulation, durable: this.#options.durable, spec: () => this.spec, bootstrap: async (cluster, dbUrl, fresh) => { await this.#bootstrap(cluster, dbUrl, fresh) },
    })
    if (this.#options.control !== false) {
      const control = this.#options.loaded.config.control
      this.#controlToken = await createControlToken(this.#dataDir)
      this.#api = await startControlApi({ stack: this, token: this.#controlToken, host: control.host, port: control.port })
      await writeControlEndpoint(this.#dataDir, this.#api.url)
    }
    events.append({ actor: 'supervisor', action: 'up', result: 'requested', detail: `level ${spec.level ?? '-'}, data in ${this.#dataDir}` })
    // Prometheus' file-based service discovery, kept equal to what runs (scrape-targets.ts).
    const targets = this.#scrapeTargets = new ScrapeTargetsFile(this.#dataDir, { stack: basename(dirname(this.#options.loaded.file)), level: spec.level })
    const onSync = (observed: ObservedUnit[]): void => { targets.update(observed).catch((err: unknown) => { this.#log(`${targets.path}: ${(err as Error).message}`) }) }
    this.#throwIfStopping()
    this.#reconciler = new Reconciler({ executor, events, spec, log: this.#log, onSync })
    this.#reconciler.kick()
    await this.#reconciler.waitConverged(this.#options.startTimeoutMs ?? 300_000, 3)
    await targets.update(executor.observe())
    const prometheus = this.#options.prometheus
    if (prometheus !== undefined && prometheus !== false) {
      this.#prometheus = await StackPrometheus.start({ dataDir: this.#dataDir, targetsFile: targets.path, events, log: this.#log, scrapeIntervalSeconds: prometheus === true ? undefined : prometheus.scrapeIntervalSeconds })
    }
    const haClusters = Object.keys(spec.databases).filter((c) => spec.databases[c]?.ha.enabled === true)
    if (haClusters.length > 0) {
      const addresses = executor.addresses()
      this.#ha = new HaMonitor({ clusters: haClusters, etcdHosts: etcdMembers(spec).map((m) => addresses.get(m) ?? '').filter((a) => a !== ''), events })
      await this.#ha.poll()
    }
    this.#throwIfStopping()
    events.append({ actor: 'supervisor', action: 'up', result: 'ok', detail: url })
    this.#autoscaler = new AutoscaleController({
      host: {
        spec: () => this.spec,
        observe: () => executor.observe(),
        scale: (targets, actor, detail) => { this.scale(targets, actor, detail) },
        queueDepth: async (queue) => await this.#queueDepth(queue),
      },
      events,
      syncMs: this.#options.autoscaleSyncMs,
      log: this.#log,
    })
    this.#autoscaler.start()
    await writeFile(join(this.#dataDir, 'stack.json'), JSON.stringify(this.info(), null, 2))
    return this.info()
  }

  #throwIfStopping (): void {
    if (this.#stopping !== undefined) throw new OutgrowError('OUTGROW_SHUTTING_DOWN', 'the stack is stopping: its start is given up')
  }

  async #bootstrap (cluster: string, dbUrl: string, fresh: boolean): Promise<void> {
    const spec = this.spec
    // The view over the statistics every server collects (pg-statement-stats.ts); replicas get it by replication.
    await createStatementStatsExtension(dbUrl, postgresBinDir())
    const db = new PgDatabase({ primary: dbUrl, replicas: [], poolSize: 4, replicaPollMs: 1000 })
    try {
      // The runtime's own tables before the services': their transactions write to the outbox.
      await ensureOutboxTables(db)
      for (const service of Object.values(spec.services).filter((s) => s.database === cluster)) {
        const definition = await importService(service.module)
        await definition.migrate?.(db)
        if (fresh && this.#options.seed !== false) {
          await definition.seed?.(db, spec.seed)
          this.#log(`seeded ${spec.seed.products} products, ${spec.seed.users} users`)
        }
      }
    } finally {
      await db.close()
    }
  }

  /** What runs now: every process with its server, pid, address, state and restarts. */
  info (): StackInfo {
    const spec = this.spec
    const observed = this.#executor?.observe() ?? []
    const processes = observed.map((o): StackProcessInfo => {
      const role = ROLE[o.kind]
      const metricsUrl = o.address === undefined ? undefined : role === 'gateway' ? `${o.address}/__outgrow/metrics` : role === 'app' || role === 'worker' ? `${o.address}/metrics` : undefined
      const cluster = o.kind === 'postgres-ha' ? o.group.split('/')[1] ?? '' : undefined
      const ha = cluster === undefined ? undefined : { role: this.#ha?.view(cluster)?.roles[o.name] ?? 'none' as const, pids: o.pids ?? {} }
      return { name: o.name, role, server: o.server, pid: o.pid, state: o.state, restarts: o.restarts, url: o.address, metricsUrl, detail: o.detail, ha }
    }).sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }))
    const ha = { enabled: Object.values(spec.databases).some((d) => d.ha.enabled), clusters: this.#ha?.views() ?? {} }
    return { level: spec.level ?? 0, topology: summarize(spec), url: publicUrl(spec), emulation: this.#emulation?.describe() ?? '', dataDir: this.#dataDir, processes, ha, prometheus: this.#prometheus?.url }
  }

  /** Jobs waiting in a BullMQ queue (wait list and prioritized set) on the queue's Redis. */
  async #queueDepth (queue: string): Promise<number> {
    if (this.#queueClient === undefined) {
      const target = redisTarget(this.spec, 'queue', this.#executor?.addresses() ?? new Map())
      if (target === undefined) throw new Error('no queue server')
      this.#queueClient = createRedisClient(redisTargetOf(target), { purpose: 'command' })
    }
    const [wait, prioritized] = await Promise.all([this.#queueClient.llen(`bull:${queue}:wait`), this.#queueClient.zcard(`bull:${queue}:prioritized`)])
    return wait + prioritized
  }

  /** The stack's job queues (`outgrow jobs`): those its workers take jobs from, on the queue's Redis. */
  get jobs (): StackJobs {
    this.#jobs ??= new StackJobs(() => {
      const target = redisTarget(this.spec, 'queue', this.#executor?.addresses() ?? new Map())
      return target === undefined ? undefined : redisTargetOf(target)
    }, () => [...new Set(Object.values(this.spec.workers).map((w) => w.queue))])
    return this.#jobs
  }

  /** A server's CPU accounting so far, a counter to read around a window; undefined for a server nothing runs on. */
  serverCpu (server: string): ServerCpuReading | undefined { return this.#emulation?.serverCpu(server) }

  /** A V8 CPU profile of an app instance, worker or gateway, by process name (cpu-profile.ts). */
  async cpuProfile (processName: string, durationMs: number, options: Omit<CpuProfileOptions, 'durationMs'> = {}): Promise<CpuProfile> {
    return await profileStackProcess((name) => this.#executor?.unitProcess(name), processName, { ...options, durationMs })
  }

  autoscaleHistory (): readonly AutoscaleRecord[] { return this.#autoscaler?.history() ?? [] }

  /** Sets the instance count of services or workers by name, e.g. { app: 5, worker: 2 }. */
  scale (targets: Record<string, number>, actor: string, detail?: string): TopologySpec {
    const spec = structuredClone(this.spec)
    for (const [name, count] of Object.entries(targets)) {
      const group = spec.services[name] ?? spec.workers[name]
      if (spec.services[name] !== undefined && spec.workers[name] !== undefined) {
        throw new OutgrowError('OUTGROW_TOPOLOGY_REFUSED', `topology refused: ${name}: both a service and a worker group are called ${name}`, { field: name })
      }
      if (group === undefined) throw new OutgrowError('OUTGROW_TOPOLOGY_REFUSED', `topology refused: ${name}: no service or worker group of that name (have: ${[...Object.keys(spec.services), ...Object.keys(spec.workers)].join(', ')})`, { field: name })
      group.instances.count = count
    }
    const summary = Object.entries(targets).map(([n, c]) => `${n}=${c}`).join(' ')
    return this.#reconcilerOrThrow().apply(spec, actor, 'scale', detail === undefined ? summary : `${summary}: ${detail}`)
  }

  /**
   * SIGKILLs a process (and what it started) by name, as a crash would: the reconciler sees the
   * exit and starts it again, restarts + 1. Any process may be killed; engines restart on their data.
   */
  killProcess (name: string, actor: string): { name: string, pid: number } {
    const unit = this.#executor?.unitProcess(name)
    if (unit === undefined) throw new OutgrowError('OUTGROW_NOT_FOUND', `no process ${name} (see outgrow status)`, { field: 'name' })
    const pid = unit.process?.pid
    if (unit.process === undefined || pid === undefined || !unit.process.running) throw new OutgrowError('OUTGROW_CONFLICT', `${name} is not running now (see outgrow status)`)
    this.events.append({ actor, action: 'kill', target: name, result: 'requested', detail: `SIGKILL pid ${pid}` })
    killTree(pid)
    return { name, pid }
  }

  /** Replaces every instance of the named services (all when none), one at a time per service. */
  rollingRestart (actor: string, services: readonly string[] = []): TopologySpec {
    const spec = structuredClone(this.spec)
    const stamp = new Date().toISOString()
    for (const [name, service] of Object.entries(spec.services)) {
      if (services.length === 0 || services.includes(name)) service.restartedAt = stamp
    }
    const unknown = services.filter((s) => spec.services[s] === undefined)
    if (unknown.length > 0) throw new OutgrowError('OUTGROW_TOPOLOGY_REFUSED', `topology refused: ${unknown[0] as string}: no service of that name`, { field: unknown[0] as string })
    return this.#reconcilerOrThrow().apply(spec, actor, 'rolling-restart', services.join(' ') || 'all services')
  }

  /** A planned switchover of an HA cluster (the first one when unnamed) to `to`, or to the best standby. */
  async switchover (options: { cluster?: string | undefined, to?: string | undefined }): Promise<{ cluster: string, from: string, to: string }> {
    const cluster = options.cluster ?? Object.keys(this.spec.databases).find((c) => this.spec.databases[c]?.ha.enabled === true)
    if (this.#ha === undefined || cluster === undefined) throw new OutgrowError('OUTGROW_CONFLICT', 'switchover refused: no database cluster runs with ha.enabled (outgrow up --level 4, without --no-ha)')
    const to = options.to
    if (to !== undefined && !this.#executor?.observe().some((o) => o.name === to && o.group === haGroup(cluster))) {
      throw new OutgrowError('OUTGROW_NOT_FOUND', `no node ${to} in ${cluster}`)
    }
    return { cluster, ...await this.#ha.switchover(cluster, to) }
  }

  apply (spec: unknown, actor: string): TopologySpec {
    return this.#reconcilerOrThrow().apply(spec, actor)
  }

  pending (): ReturnType<Reconciler['pending']> { return this.#reconcilerOrThrow().pending() }
  isConverged (): boolean { return this.#reconciler?.isConverged() ?? false }
  async waitConverged (timeoutMs: number): Promise<void> { await this.#reconcilerOrThrow().waitConverged(timeoutMs) }
  get logDir (): string { return join(this.#dataDir, 'logs') }

  #reconcilerOrThrow (): Reconciler {
    if (this.#reconciler === undefined) throw new OutgrowError('OUTGROW_INTERNAL', 'stack is not up')
    return this.#reconciler
  }

  /** Asks whoever runs the stack (the `up` command) to stop it; without a listener, stops it here. */
  requestDown (actor: string): void {
    // Nobody runs the stack to hand this to, so it stops itself in the background; should stopping
    // fail, the rejection goes unhandled and ends the process, as nothing else would stop it.
    if (this.#downRequests.size === 0) { void this.down(actor); return }
    for (const listener of this.#downRequests) listener(actor)
  }

  onDownRequest (listener: (actor: string) => void): void {
    this.#downRequests.add(listener)
  }

  /** Stops everything in order, front to back, whatever has died; removes a temporary data dir. */
  async down (actor = 'supervisor'): Promise<void> {
    this.#stopping ??= (async () => {
      this.#autoscaler?.stop()
      this.#reconciler?.stop()
      // A stop during the start: the start gives up at its next step, and what it has under way
      // (an initdb, a process coming up) may finish, so that everything it started is known below.
      // Bounded: a start can wait minutes on another (a standby on a leader that keeps failing);
      // stopping what runs ends such a wait, and the second pass stops what it brought up.
      const settled = await this.#reconciler?.settled(SETTLE_BEFORE_STOP_MS) ?? true
      await this.#starting?.catch(() => {})
      this.#queueClient?.disconnect()
      await this.#jobs?.close()
      this.#ha?.close()
      this.#events?.append({ actor, action: 'down', result: 'requested' })
      await this.#prometheus?.stop()
      await this.#executor?.stopAll()
      if (!settled) {
        await this.#reconciler?.settled(SETTLE_BEFORE_STOP_MS)
        await this.#executor?.stopAll()
      }
      const leftBehind = await this.#emulation?.cleanup() ?? []
      if (leftBehind.length > 0) this.#events?.append({ actor, action: 'kill', result: 'ok', detail: `${leftBehind.length} process(es) still on the stack's servers once it stopped: pid ${leftBehind.join(', ')}` })
      await this.#scrapeTargets?.update([]).catch(() => {})
      this.#events?.append({ actor, action: 'down', result: 'ok' })
      await this.#events?.flush()
      if (this.#api !== undefined) {
        await this.#api.close()
        // Only our own: a refused second `up` must not take a live stack's files away.
        await removeControlFiles(this.#dataDir).catch(() => {})
      }
      if (this.#ownsDataDir && this.#dataDir !== '') await rm(this.#dataDir, { recursive: true, force: true })
    })().finally(() => { stackIsDown(this) })
    await this.#stopping
  }
}
