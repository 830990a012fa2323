import { randomBytes } from 'node:crypto'
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { LoadedConfig } from '../config/load.js'
import { resolveTopology, type Topology } from '../config/levels.js'
import type { GatewayConfigInput } from '../config/gateway-config.js'
import type { ProcessConfigInput } from '../config/process-config.js'
import { PgDatabase } from '../data/pg-database.js'
import { OutgrowError } from '../errors/index.js'
import { importService } from '../runtime/service.js'
import { createTemporaryDataDir } from './data-dir.js'
import { createEmulation, type ServerEmulation } from './emulation.js'
import { PostgresServer } from './engines/postgres.js'
import { RedisServer } from './engines/redis.js'
import { freePort, portIsFree } from './free-port.js'
import { NodeProcess } from './node-process.js'

export interface StackOptions {
  readonly loaded: LoadedConfig
  readonly log?: (line: string) => void
  /** fsync on in PostgreSQL (default); tests turn it off for speed. */
  readonly durable?: boolean
  /** Restart app, worker and gateway processes that die (default true). */
  readonly restart?: boolean
  /** Skip seeding (the schema is still created). */
  readonly seed?: boolean
}

export interface StackProcessInfo {
  readonly name: string
  readonly role: 'app' | 'worker' | 'gateway' | 'postgres' | 'redis'
  readonly server: string
  readonly pid: number | undefined
  readonly url?: string
  readonly metricsUrl?: string
}

export interface StackInfo {
  readonly level: number
  readonly topology: Topology
  readonly url: string
  readonly emulation: string
  readonly dataDir: string
  readonly postgres: { readonly primary: string, readonly replicas: readonly string[] }
  readonly redis: string | undefined
  readonly processes: readonly StackProcessInfo[]
}

/**
 * Brings one level of the playbook up on this machine: PostgreSQL primary (+ replicas), Redis,
 * workers, app instances and the gateway, each on its own emulated server; and down again in
 * reverse order.
 */
export class Stack {
  readonly #options: StackOptions
  readonly #log: (line: string) => void
  readonly topology: Topology
  #emulation: ServerEmulation | undefined
  #dataDir = ''
  #ownsDataDir = false
  #primary: PostgresServer | undefined
  readonly #replicas: PostgresServer[] = []
  #redis: RedisServer | undefined
  readonly #nodes: NodeProcess[] = []
  #info: StackInfo | undefined
  #stopped = false

  constructor (options: StackOptions) {
    this.#options = options
    this.#log = options.log ?? (() => {})
    this.topology = resolveTopology(options.loaded.config)
  }

  get info (): StackInfo {
    if (this.#info === undefined) throw new OutgrowError('OUTGROW_INTERNAL', 'stack is not up')
    return this.#info
  }

  get nodes (): readonly NodeProcess[] { return this.#nodes }

  /** The stack's description with the current pids (processes may have been restarted). */
  snapshot (): StackInfo {
    const info = this.info
    const pids = new Map(this.#nodes.map((n) => [n.options.name, n.pid]))
    return { ...info, processes: info.processes.map((p) => pids.has(p.name) ? { ...p, pid: pids.get(p.name) } : p) }
  }

  async up (): Promise<StackInfo> {
    try {
      return await this.#up()
    } catch (err) {
      await this.down()
      throw err
    }
  }

  async #up (): Promise<StackInfo> {
    const { config, servicePath } = this.#options.loaded
    const topology = this.topology
    if (!await portIsFree(config.port, config.host)) {
      throw new OutgrowError('OUTGROW_PORT_UNAVAILABLE', `port ${config.port} is in use: stop what holds it or pass --port`)
    }
    const stackId = `${process.pid}-${randomBytes(3).toString('hex')}`
    this.#ownsDataDir = config.dataDir === undefined
    this.#dataDir = config.dataDir ?? await createTemporaryDataDir()
    await mkdir(this.#dataDir, { recursive: true })
    // PostgreSQL runs as its own OS user and must be able to traverse to its data dir.
    await chmod(this.#dataDir, 0o755)
    const logDir = join(this.#dataDir, 'logs')
    await mkdir(logDir, { recursive: true })
    const emulation = this.#emulation = createEmulation(config.emulation.mode, stackId, config.emulation.cpusPerServer)
    this.#log(`level ${topology.level}: servers emulated by ${emulation.describe()}`)

    const dbServer = topology.colocateDb ? 'server-1' : 'db-primary'
    const primary = this.#primary = await PostgresServer.createPrimary({
      name: 'postgres-primary', dataDir: join(this.#dataDir, 'pg-primary'), logFile: join(logDir, 'postgres-primary.log'), port: await freePort(), durable: this.#options.durable,
    })
    await primary.start((pid) => { emulation.place(dbServer, pid) })
    await primary.createDatabase()
    this.#log(`postgres primary on 127.0.0.1:${primary.options.port}`)

    const service = await importService(servicePath)
    const seedDb = new PgDatabase({ primary: primary.url, replicas: [], poolSize: 4, replicaPollMs: 1000 })
    try {
      await service.migrate?.(seedDb)
      if (this.#options.seed !== false) {
        await service.seed?.(seedDb, config.seed)
        this.#log(`seeded ${config.seed.products} products, ${config.seed.users} users`)
      }
    } finally {
      await seedDb.close()
    }

    for (let i = 1; i <= topology.replicas; i++) {
      const replica = await PostgresServer.createReplica(primary, {
        name: `postgres-replica-${i}`, dataDir: join(this.#dataDir, `pg-replica-${i}`), logFile: join(logDir, `postgres-replica-${i}.log`), port: await freePort(), durable: this.#options.durable,
      })
      this.#replicas.push(replica)
      await replica.start((pid) => { emulation.place(`db-replica-${i}`, pid) })
      this.#log(`postgres replica ${i} on 127.0.0.1:${replica.options.port} (streaming from the primary)`)
    }

    if (topology.redis) {
      const redis = this.#redis = new RedisServer({ name: 'redis', dataDir: join(this.#dataDir, 'redis'), logFile: join(logDir, 'redis.log'), port: await freePort() })
      await redis.start((pid) => { emulation.place('redis', pid) })
      this.#log(`redis on 127.0.0.1:${redis.options.port}`)
    }

    const redisUrl = this.#redis?.url
    const common = {
      service: servicePath,
      adminToken: config.adminToken,
      db: { primary: primary.url, replicas: this.#replicas.map((r) => r.url) },
      cache: topology.cache === 'redis' ? { kind: 'redis' as const, url: redisUrl as string } : { kind: 'memory' as const },
      session: topology.session === 'redis' ? { kind: 'redis' as const, url: redisUrl as string } : { kind: 'memory' as const },
      jobs: topology.jobs === 'bullmq' ? { kind: 'bullmq' as const, url: redisUrl as string } : { kind: 'inprocess' as const },
    }
    // Behind a gateway, instances register themselves in Redis; the gateway follows the registry.
    const registry = topology.gateway ? { registry: { url: redisUrl as string, cluster: 'app' } } : {}
    const processes: StackProcessInfo[] = [
      { name: 'postgres-primary', role: 'postgres', server: dbServer, pid: primary.process.pid, url: primary.url },
      ...this.#replicas.map((r, i) => ({ name: r.options.name, role: 'postgres' as const, server: `db-replica-${i + 1}`, pid: r.process.pid, url: r.url })),
      ...(this.#redis === undefined ? [] : [{ name: 'redis', role: 'redis' as const, server: 'redis', pid: this.#redis.process.pid, url: this.#redis.url }]),
    ]
    const startNode = async (name: string, server: string, processConfig: ProcessConfigInput): Promise<NodeProcess> => {
      const node = new NodeProcess({ name, server, config: processConfig, logDir, emulation, restart: this.#options.restart ?? true, log: this.#log })
      this.#nodes.push(node)
      await node.start()
      return node
    }

    for (let i = 1; i <= topology.workers; i++) {
      const port = await freePort()
      const node = await startNode(`worker-${i}`, `worker-${i}`, { role: 'worker', instanceId: `worker-${i}`, port, ...common })
      processes.push({ name: `worker-${i}`, role: 'worker', server: `worker-${i}`, pid: node.pid, metricsUrl: `http://127.0.0.1:${port}/metrics` })
    }
    this.#log(topology.workers > 0 ? `${topology.workers} job worker(s) on the Redis queue` : 'jobs run inside the app process')

    const instances: Array<{ id: string, url: string }> = []
    await Promise.all(Array.from({ length: topology.instances }, async (_, index) => {
      const i = index + 1
      const id = `app-${i}`
      const server = topology.colocateDb ? 'server-1' : id
      const port = topology.gateway ? await freePort() : config.port
      const host = topology.gateway ? '127.0.0.1' : config.host
      const node = await startNode(id, server, { role: 'app', instanceId: id, host, port, ...common, ...registry })
      const url = `http://127.0.0.1:${port}`
      instances.push({ id, url })
      processes.push({ name: id, role: 'app', server, pid: node.pid, url, metricsUrl: `${url}/metrics` })
    }))
    instances.sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }))
    this.#log(`${instances.length} app instance(s): ${instances.map((i) => i.url).join(', ')}`)

    if (topology.gateway) {
      // The static store the gateway serves first (where pre-rendered pages go).
      const staticDir = join(this.#dataDir, 'static')
      await mkdir(staticDir, { recursive: true })
      const gatewayConfig: GatewayConfigInput = {
        host: config.host,
        port: config.port,
        processes: config.gatewayProcesses,
        adminToken: config.adminToken,
        static: { dir: staticDir, maxAgeSeconds: 60 },
        upstreams: { registry: { kind: 'redis', url: redisUrl as string, cluster: 'app' }, healthCheck: config.healthCheck },
        routes: [{ pathPrefix: '/', balancer: config.balancer }],
      }
      const node = await startNode('gateway', 'gateway', { role: 'gateway', instanceId: 'gateway', gateway: gatewayConfig })
      processes.push({ name: 'gateway', role: 'gateway', server: 'gateway', pid: node.pid, url: `http://127.0.0.1:${config.port}`, metricsUrl: `http://127.0.0.1:${config.port}/__outgrow/metrics` })
      this.#log(`gateway (${config.balancer}, ${config.gatewayProcesses} process(es)) on ${config.host}:${config.port}`)
    }

    this.#info = {
      level: topology.level,
      topology,
      url: `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${config.port}`,
      emulation: emulation.describe(),
      dataDir: this.#dataDir,
      postgres: { primary: primary.url, replicas: this.#replicas.map((r) => r.url) },
      redis: redisUrl,
      processes,
    }
    await writeFile(join(this.#dataDir, 'stack.json'), JSON.stringify(this.#info, null, 2))
    return this.#info
  }

  /**
   * Restarts every app instance, one at a time: each deregisters, drains and stops, and its
   * replacement registers and passes a health check before the next one goes.
   */
  async rollingRestart (): Promise<void> {
    for (const node of this.#nodes.filter((n) => n.options.name.startsWith('app-'))) {
      await node.restart()
      this.#log(`${node.options.name} restarted (rolling)`)
      await new Promise((resolve) => setTimeout(resolve, this.topology.gateway ? this.#options.loaded.config.healthCheck.intervalMs + 500 : 0))
    }
  }

  /** Stops everything, front to back: gateway, apps, workers, Redis, replicas, primary. */
  async down (): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    const byRole = (prefix: string): NodeProcess[] => this.#nodes.filter((n) => n.options.name.startsWith(prefix))
    await Promise.allSettled(byRole('gateway').map(async (n) => { await n.stop() }))
    await Promise.allSettled(byRole('app-').map(async (n) => { await n.stop() }))
    await Promise.allSettled(byRole('worker-').map(async (n) => { await n.stop() }))
    await this.#redis?.stop().catch(() => {})
    await Promise.allSettled(this.#replicas.map(async (r) => { await r.stop() }))
    await this.#primary?.stop().catch(() => {})
    this.#emulation?.cleanup()
    if (this.#ownsDataDir && this.#dataDir !== '') await rm(this.#dataDir, { recursive: true, force: true })
  }
}
