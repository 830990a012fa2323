import { EventEmitter } from 'node:events'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Action } from '../actions.js'
import type { ObservedUnit, UnitState } from '../observed.js'
import type { TopologySpec } from '../spec.js'
import { pooledServer, poolerSettings, primaryName, type DesiredUnit } from '../units.js'
import type { ServerEmulation } from '../../supervisor/emulation.js'
import { postgresDataRoot } from '../../supervisor/engines/pg-data-root.js'
import { dropReplicationSlot, replicationSlotName } from '../../supervisor/engines/postgres.js'
import { freePort, portIsFree } from '../../supervisor/free-port.js'
import { NodeHandle, PgBouncerHandle, PostgresHandle, RedisHandle, type LocalHandle, type Placement } from './local-handles.js'
import { appProcessConfig, gatewayProcessConfig } from './process-configs.js'

export interface LocalExecutorOptions {
  readonly dataDir: string
  readonly emulation: ServerEmulation
  /** The spec the current actions come from (process configs are built from it). */
  readonly spec: () => TopologySpec
  /** fsync in PostgreSQL (default on); tests turn it off. */
  readonly durable?: boolean
  /** Database, migrations and seed, after every start of a primary. */
  readonly bootstrap: (cluster: string, url: string, fresh: boolean) => Promise<void>
}

interface Entry {
  unit: DesiredUnit
  handle: LocalHandle | undefined
  state: UnitState
  address: string | undefined
  restarts: number
  since: number
  detail: string | undefined
}

/**
 * Carries actions out as processes on this machine: engines in their data dirs under
 * `data/`, Node processes for instances, workers and gateways, each placed on its emulated server.
 * It observes exits and reports them ('exit' event); whether to restart is the reconciler's call.
 */
export class LocalExecutor extends EventEmitter {
  readonly #options: LocalExecutorOptions
  readonly #entries = new Map<string, Entry>()
  readonly #ports: Record<string, number>
  readonly #portsFile: string
  readonly #logDir: string

  constructor (options: LocalExecutorOptions) {
    super()
    this.#options = options
    this.#logDir = join(options.dataDir, 'logs')
    this.#portsFile = join(options.dataDir, 'ports.json')
    // Engines keep their port across restarts (and across `up`s when it is still free), so the
    // addresses every instance was given stay true.
    this.#ports = existsSync(this.#portsFile) ? JSON.parse(readFileSync(this.#portsFile, 'utf8')) as Record<string, number> : {}
  }

  get logDir (): string { return this.#logDir }

  observe (): ObservedUnit[] {
    return [...this.#entries.values()].map((e) => ({
      name: e.unit.name, kind: e.unit.kind, group: e.unit.group, fingerprint: e.unit.fingerprint, state: e.state, server: e.unit.server,
      pid: e.state === 'ready' || e.state === 'starting' || e.state === 'stopping' ? e.handle?.process?.pid : undefined,
      address: e.address, restarts: e.restarts, since: e.since, detail: e.detail,
    }))
  }

  /** Where each ready engine and instance serves, by unit name. */
  addresses (): Map<string, string> {
    return new Map([...this.#entries].filter(([, e]) => e.address !== undefined).map(([n, e]) => [n, e.address as string]))
  }

  async execute (action: Action): Promise<void> {
    switch (action.type) {
      case 'start': await this.#start(action.unit); return
      case 'restart': await this.#start(action.unit, true); return
      case 'replace':
        await this.#stop(action.unit.name)
        await this.#start(action.unit)
        return
      case 'stop': {
        const unit = this.#entries.get(action.name)?.unit
        await this.#stop(action.name)
        // A replica taken out of the spec no longer needs the primary to keep WAL for it.
        const primaryPort = unit?.kind === 'postgres-replica' ? this.#ports[primaryName(unit.group.split('/')[1] ?? '')] : undefined
        if (unit !== undefined && primaryPort !== undefined) await dropReplicationSlot(primaryPort, replicationSlotName(unit.name)).catch(() => {})
      }
    }
  }

  async #enginePort (name: string): Promise<number> {
    const known = this.#ports[name]
    if (known !== undefined && (this.#entries.get(name)?.handle !== undefined || await portIsFree(known))) return known
    const port = await freePort()
    this.#ports[name] = port
    await writeFile(this.#portsFile, JSON.stringify(this.#ports, null, 2))
    return port
  }

  async #start (unit: DesiredUnit, again = false): Promise<void> {
    const previous = this.#entries.get(unit.name)
    const entry: Entry = {
      unit,
      handle: previous?.unit.fingerprint === unit.fingerprint ? previous.handle : undefined,
      state: 'starting',
      address: previous?.address,
      restarts: (previous?.restarts ?? 0) + (again ? 1 : 0),
      since: Date.now(),
      detail: undefined,
    }
    this.#entries.set(unit.name, entry)
    try {
      await mkdir(this.#logDir, { recursive: true })
      // Engines run as their own OS user: every dir above their data dirs must stay traversable.
      await mkdir(join(this.#options.dataDir, 'data'), { recursive: true, mode: 0o755 })
      await mkdir(postgresDataRoot(this.#options.dataDir), { recursive: true, mode: 0o755 })
      entry.handle ??= await this.#handleFor(unit)
      const handle = entry.handle
      const address = await handle.start()
      const proc = handle.process
      if (proc === undefined) throw new Error('no process after start')
      proc.once('exit', (code: number | null, signal: string | null) => {
        if (this.#entries.get(unit.name) !== entry || entry.state === 'stopping' || entry.handle !== handle) return
        entry.state = 'crashed'
        entry.since = Date.now()
        entry.detail = signal ?? `exit code ${String(code)}`
        this.emit('exit', unit.name, entry.detail)
      })
      if (!proc.running) throw new Error('exited during start')
      Object.assign(entry, { state: 'ready', address, since: Date.now() })
    } catch (err) {
      entry.handle?.process?.kill('SIGKILL')
      Object.assign(entry, { state: 'failed', since: Date.now(), detail: (err as Error).message.split('\n')[0] })
      throw err
    }
  }

  async #handleFor (unit: DesiredUnit): Promise<LocalHandle> {
    const spec = this.#options.spec()
    const placement: Placement = { emulation: this.#options.emulation, server: unit.server, cpus: unit.cpus }
    const dataDir = unit.kind.startsWith('postgres') ? join(postgresDataRoot(this.#options.dataDir), unit.name) : join(this.#options.dataDir, 'data', unit.name)
    const [kindGroup, groupName = ''] = unit.group.split('/')
    void kindGroup
    switch (unit.kind) {
      case 'postgres-primary':
      case 'postgres-replica': {
        const db = spec.databases[groupName]
        if (db === undefined) throw new Error(`no database ${groupName}`)
        const primary = unit.kind === 'postgres-primary'
        const settings: Record<string, string> = { max_connections: String(db.maxConnections), cluster_name: unit.name }
        if (primary && db.replication === 'sync') settings.synchronous_standby_names = 'ANY 1 (*)'
        // Slots keep WAL for replicas that fall behind; the cap keeps a dead one from filling the disk.
        if (primary) Object.assign(settings, { wal_keep_size: '128MB', max_slot_wal_keep_size: '2GB' })
        if (!primary) {
          settings.primary_conninfo = `host=127.0.0.1 port=${this.#ports[primaryName(groupName)] ?? 0} user=postgres application_name=${unit.name}`
          settings.primary_slot_name = replicationSlotName(unit.name)
        }
        return new PostgresHandle({
          name: unit.name, dataDir, logDir: this.#logDir, port: await this.#enginePort(unit.name), durable: this.#options.durable ?? true, settings, placement,
          ...(primary
            ? { bootstrap: async (url: string, fresh: boolean) => { await this.#options.bootstrap(groupName, url, fresh) } }
            : { primaryPort: this.#ports[primaryName(groupName)] as number }),
        })
      }
      case 'pgbouncer': {
        const settings = poolerSettings(spec, groupName)
        if (settings === undefined) throw new Error(`database ${groupName} has no pgbouncer pooler`)
        const serverPort = this.#ports[pooledServer(unit)]
        if (serverPort === undefined) throw new Error(`${pooledServer(unit)} has no port yet`)
        return new PgBouncerHandle({
          name: unit.name, dataDir, logFile: join(this.#logDir, `${unit.name}.log`), port: await this.#enginePort(unit.name), serverPort,
          ...settings,
        }, placement)
      }
      case 'redis': {
        const redis = spec.redis[unit.name]
        return new RedisHandle({ name: unit.name, dataDir, logDir: this.#logDir, port: await this.#enginePort(unit.name), persistent: redis?.persistence !== 'none', placement })
      }
      case 'app':
        return new NodeHandle(unit.name, appProcessConfig(spec, groupName, unit.name, this.addresses()), this.#logDir, placement)
      case 'worker': {
        const service = spec.workers[groupName]?.service ?? ''
        return new NodeHandle(unit.name, appProcessConfig(spec, service, unit.name, this.addresses(), groupName), this.#logDir, placement)
      }
      case 'gateway': {
        const staticDir = join(this.#options.dataDir, 'static')
        await mkdir(staticDir, { recursive: true })
        return new NodeHandle(unit.name, gatewayProcessConfig(spec, unit.name, this.addresses(), staticDir), this.#logDir, placement)
      }
    }
  }

  async #stop (name: string): Promise<void> {
    const entry = this.#entries.get(name)
    if (entry === undefined) return
    entry.state = 'stopping'
    entry.since = Date.now()
    try {
      await entry.handle?.stop()
    } finally {
      this.#entries.delete(name)
    }
  }

  /**
   * Stops everything, front to back: gateways, instances, workers, Redis, poolers, replicas, primaries —
   * each tier at once, each process killed if it does not stop in time.
   */
  async stopAll (): Promise<void> {
    const tiers: Array<DesiredUnit['kind']> = ['gateway', 'app', 'worker', 'redis', 'pgbouncer', 'postgres-replica', 'postgres-primary']
    for (const kind of tiers) {
      const names = [...this.#entries.values()].filter((e) => e.unit.kind === kind).map((e) => e.unit.name)
      await Promise.allSettled(names.map(async (n) => { await this.#stop(n) }))
    }
  }
}
