import { createHash } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { OutgrowError } from '../../errors/index.js'
import type { Action } from '../actions.js'
import type { ObservedUnit, UnitState } from '../observed.js'
import type { TopologySpec } from '../spec.js'
import { etcdMembers, pooledServer, poolerSettings, primaryName, redisDataNodes, redisSentinels, type DesiredUnit } from '../units.js'
import type { ServerEmulation } from '../../supervisor/emulation.js'
import { postgresDataRoot } from '../../supervisor/engines/pg-data-root.js'
import type { EtcdPeer } from '../../supervisor/engines/etcd.js'
import { dropReplicationSlot, PostgresServer, replicationSlotName } from '../../supervisor/engines/postgres.js'
import { askSentinels, masterFromSentinelFiles } from '../../supervisor/engines/redis-master.js'
import { freePort, portIsFree } from '../../supervisor/free-port.js'
import type { ManagedProcess } from '../../supervisor/managed-process.js'
import { haConfigInput, haNodeNames } from '../ha-nodes.js'
import { HaNodeHandle } from './ha-node-handle.js'
import { EtcdHandle, NodeHandle, PgBouncerHandle, PostgresHandle, RedisHandle, RedisSentinelHandle, type LocalHandle, type Placement } from './local-handles.js'
import { admissionDelayMs, appProcessConfig, gatewayProcessConfig, staticStoreDir } from './process-configs.js'
import { RedisRoles } from './redis-roles.js'

export interface LocalExecutorOptions {
  readonly dataDir: string
  readonly emulation: ServerEmulation
  /** The spec the current actions come from (process configs are built from it). */
  readonly spec: () => TopologySpec
  /** fsync in PostgreSQL (default on); tests turn it off. */
  readonly durable?: boolean
  /** Database, migrations and seed, after every start of a primary. */
  readonly bootstrap: (cluster: string, url: string, fresh: boolean) => Promise<void>
  /** Picks a free port for an engine (default: free-port.ts, one free now). */
  readonly pickPort?: () => Promise<number>
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
  /** Serialises port allocations that must see each other (an etcd cluster's ports). */
  #portLock: Promise<void> = Promise.resolve()
  /**
   * Engines whose port this executor picked and that have not been ready since: nothing was given
   * their address yet, so a start that fails on a port someone took meanwhile may move them.
   */
  readonly #movablePorts = new Set<string>()
  /** Primaries whose cluster this executor created and whose bootstrap has not succeeded yet. */
  readonly #unseeded = new Set<string>()
  /** The current role of each Redis data node that Sentinels fail over, for status. */
  readonly #redisRoles = new RedisRoles(() => new Map([...this.#entries.values()]
    .filter((e) => e.unit.kind === 'redis' && e.state === 'ready' && this.#options.spec().redis[e.unit.group.split('/')[1] ?? '']?.sentinel.enabled === true)
    .map((e) => [e.unit.name, this.#ports[e.unit.name] as number])))

  constructor (options: LocalExecutorOptions) {
    super()
    this.#options = options
    this.#logDir = join(options.dataDir, 'logs')
    this.#portsFile = join(options.dataDir, 'ports.json')
    // Engines keep their port across restarts (and across `up`s when it is still free), so the
    // addresses every instance was given stay true.
    this.#ports = existsSync(this.#portsFile) ? JSON.parse(readFileSync(this.#portsFile, 'utf8')) as Record<string, number> : {}
  }

  observe (): ObservedUnit[] {
    return [...this.#entries.values()].map((e) => ({
      name: e.unit.name, kind: e.unit.kind, group: e.unit.group, fingerprint: e.unit.fingerprint, state: e.state, server: e.unit.server,
      pid: e.state === 'ready' || e.state === 'starting' || e.state === 'stopping' ? e.handle?.process?.pid : undefined,
      address: e.address, restarts: e.restarts, since: e.since, detail: e.detail ?? (e.state === 'ready' ? this.#redisRoles.roleOf(e.unit.name) : undefined),
      ...(e.handle instanceof HaNodeHandle && e.state !== 'crashed' && e.state !== 'failed' ? { pids: e.handle.pids() } : {}),
    }))
  }

  /** The kind and current process of a unit, by name (undefined: no such unit). */
  unitProcess (name: string): { readonly kind: DesiredUnit['kind'], readonly process: ManagedProcess | undefined } | undefined {
    const entry = this.#entries.get(name)
    return entry === undefined ? undefined : { kind: entry.unit.kind, process: entry.handle?.process }
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
    const port = await (this.#options.pickPort ?? freePort)()
    this.#ports[name] = port
    this.#movablePorts.add(name)
    await writeFile(this.#portsFile, JSON.stringify(this.#ports, null, 2))
    return port
  }

  /**
   * After a failed start: a port picked a moment before the engine bound it can be taken by any
   * process that binds it in between. An engine nothing knows
   * the address of yet gets a fresh port and a fresh handle, so the retry is not bound to fail again.
   */
  async #releaseTakenPort (name: string, entry: Entry): Promise<void> {
    const port = this.#ports[name]
    if (port === undefined || !this.#movablePorts.has(name)) return
    const proc = entry.handle?.process
    if (proc !== undefined) await Promise.race([proc.exited(), new Promise((resolve) => setTimeout(resolve, 2000))])
    if (await portIsFree(port)) return
    delete this.#ports[name]
    this.#movablePorts.delete(name)
    entry.handle = undefined
    await writeFile(this.#portsFile, JSON.stringify(this.#ports, null, 2))
  }

  /**
   * Ports picked together the first time and kept even when busy: an etcd member's client and peer
   * ports (its peer URL is part of the cluster's membership) and an HA node's PostgreSQL port (every
   * other node's agent was given it). A busy port fails the start until it is free again.
   */
  async #fixedPorts (keys: readonly string[]): Promise<Record<string, number>> {
    const allocate = async (): Promise<void> => {
      const missing = keys.filter((key) => this.#ports[key] === undefined)
      if (missing.length === 0) return
      const taken = new Set(Object.values(this.#ports))
      for (const key of missing) {
        let port = await freePort()
        while (taken.has(port)) port = await freePort()
        taken.add(port)
        this.#ports[key] = port
      }
      await writeFile(this.#portsFile, JSON.stringify(this.#ports, null, 2))
    }
    this.#portLock = this.#portLock.then(allocate, allocate)
    await this.#portLock
    return Object.fromEntries(keys.map((key) => [key, this.#ports[key] as number]))
  }

  async #etcdPeers (members: readonly string[]): Promise<EtcdPeer[]> {
    const peerKey = (name: string): string => `${name}:peer`
    const ports = await this.#fixedPorts(members.flatMap((n) => [n, peerKey(n)]))
    return members.map((name) => ({ name, clientPort: ports[name] as number, peerPort: ports[peerKey(name)] as number }))
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
      if (this.#entries.get(unit.name) !== entry || entry.state === 'stopping') {
        // Stopped while it started (a stack going down): a stop that came before the process did
        // found nothing to stop, so this start stops what it brought up.
        await handle.stop().catch(() => {})
        throw new OutgrowError('OUTGROW_SHUTTING_DOWN', `${unit.name} was stopped during its start`)
      }
      const proc = handle.process
      if (proc === undefined) throw new Error('no process after start')
      proc.once('exit', (code: number | null, signal: string | null) => {
        if (this.#entries.get(unit.name) !== entry || entry.state === 'stopping' || entry.handle !== handle) return
        entry.state = 'crashed'
        entry.since = Date.now()
        entry.detail = signal ?? `exit code ${String(code)}`
        this.emit('exit', unit.name, entry.detail)
      })
      if (unit.kind === 'app') {
        entry.address = address
        await new Promise((resolve) => setTimeout(resolve, admissionDelayMs(this.#options.spec(), unit.group.split('/')[1] ?? '')))
      }
      if (!proc.running) throw new Error('exited during start')
      Object.assign(entry, { state: 'ready', address, since: Date.now() })
      this.#movablePorts.delete(unit.name)
    } catch (err) {
      entry.handle?.process?.kill('SIGKILL')
      Object.assign(entry, { state: 'failed', since: Date.now(), detail: (err as Error).message.split('\n')[0] })
      if (!(err instanceof OutgrowError && err.code === 'OUTGROW_SHUTTING_DOWN')) await this.#releaseTakenPort(unit.name, entry)
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
      case 'etcd': {
        // The token keeps this stack's members from ever joining another stack's cluster.
        const clusterToken = `outgrow-${createHash('sha256').update(this.#options.dataDir).digest('hex').slice(0, 12)}`
        const cluster = await this.#etcdPeers(etcdMembers(spec))
        return new EtcdHandle({ name: unit.name, dataDir, logFile: join(this.#logDir, `${unit.name}.log`), cluster, clusterToken }, placement)
      }
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
        // A cluster created by a start that failed before its bootstrap is still to be seeded when a
        // later handle (on another port) finds its data dir.
        if (primary && !PostgresServer.exists(dataDir)) this.#unseeded.add(unit.name)
        const bootstrap = async (url: string, fresh: boolean): Promise<void> => {
          await this.#options.bootstrap(groupName, url, fresh || this.#unseeded.has(unit.name))
          this.#unseeded.delete(unit.name)
        }
        return new PostgresHandle({
          name: unit.name, dataDir, logDir: this.#logDir, port: await this.#enginePort(unit.name), durable: this.#options.durable ?? true, settings, placement,
          ...(primary
            ? { bootstrap }
            : { primaryPort: this.#ports[primaryName(groupName)] }),
        })
      }
      case 'postgres-ha': {
        const db = spec.databases[groupName]
        if (db === undefined) throw new Error(`no database ${groupName}`)
        const peers = await this.#fixedPorts(haNodeNames(spec, groupName))
        const etcdHosts = etcdMembers(spec).map((m) => this.addresses().get(m)).filter((a): a is string => a !== undefined)
        // Never synchronous_standby_names, default_transaction_read_only or primary_conninfo here:
        // the agent sets them with ALTER SYSTEM, and a command-line setting would win over it.
        const settings: Record<string, string> = {
          max_connections: String(db.maxConnections), cluster_name: unit.name, wal_keep_size: '128MB', max_slot_wal_keep_size: '2GB',
        }
        return new HaNodeHandle({
          name: unit.name, cluster: groupName, etcdHosts, dataDir, logDir: this.#logDir, port: peers[unit.name] as number, durable: this.#options.durable ?? true,
          settings, ha: haConfigInput(db), peers, placement, bootstrap: async (url, fresh) => { await this.#options.bootstrap(groupName, url, fresh) },
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
        const redis = spec.redis[groupName]
        const failover = redis?.sentinel.enabled === true
        if (failover) this.#redisRoles.start()
        return new RedisHandle({
          name: unit.name, dataDir, logDir: this.#logDir, port: await this.#enginePort(unit.name), persistent: redis?.persistence !== 'none', placement,
          ...(failover ? { masterPort: async () => await this.#redisMasterPort(groupName) } : {}),
        })
      }
      case 'redis-sentinel': {
        const sentinel = spec.redis[groupName]?.sentinel
        const masterPort = this.#ports[redisDataNodes(spec, groupName)[0] ?? '']
        if (sentinel === undefined || masterPort === undefined) throw new Error(`redis ${groupName} has no master to watch yet`)
        return new RedisSentinelHandle({
          name: unit.name, dataDir, logFile: join(this.#logDir, `${unit.name}.log`), port: await this.#enginePort(unit.name),
          monitor: { masterName: groupName, masterPort, quorum: sentinel.quorum, downAfterMs: sentinel.downAfterMs, failoverTimeoutMs: sentinel.failoverTimeoutMs },
        }, placement)
      }
      case 'app':
        return new NodeHandle(unit.name, appProcessConfig(spec, groupName, unit.name, this.addresses(), undefined, await this.#staticDir(spec)), this.#logDir, placement)
      case 'worker': {
        const service = spec.workers[groupName]?.service ?? ''
        return new NodeHandle(unit.name, appProcessConfig(spec, service, unit.name, this.addresses(), groupName, await this.#staticDir(spec)), this.#logDir, placement)
      }
      case 'gateway': {
        return new NodeHandle(unit.name, gatewayProcessConfig(spec, unit.name, this.addresses(), await this.#staticDir(spec)), this.#logDir, placement)
      }
    }
  }

  /** The static store's directory, made if missing: gateways serve it, pre-rendering jobs write it. */
  async #staticDir (spec: TopologySpec): Promise<string> {
    const dir = staticStoreDir(spec, this.#options.dataDir)
    await mkdir(dir, { recursive: true })
    return dir
  }

  /**
   * The port of a Sentinel group's current master: what most running Sentinels say; with none
   * running, what their config files last agreed (a stack starting again after a failover); on a
   * fresh group, the first data node.
   */
  async #redisMasterPort (redis: string): Promise<number | undefined> {
    const spec = this.#options.spec()
    const sentinels = redisSentinels(spec, redis)
    const ports = sentinels.flatMap((n) => this.#ports[n] === undefined ? [] : [this.#ports[n]])
    const master = await askSentinels(ports, redis) ??
      await masterFromSentinelFiles(sentinels.map((n) => join(this.#options.dataDir, 'data', n)), redis)
    return master?.port ?? this.#ports[redisDataNodes(spec, redis)[0] ?? '']
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
   * Stops everything, front to back: gateways, instances, workers, Redis, poolers, replicas, primaries,
   * HA nodes, etcd last (what elects the primaries outlives them) — each tier at once, each process killed if it
   * does not stop in time.
   */
  async stopAll (): Promise<void> {
    this.#redisRoles.stop()
    // Sentinels stop before the Redis servers they watch, so stopping a master starts no failover.
    const tiers: Array<DesiredUnit['kind']> = ['gateway', 'app', 'worker', 'redis-sentinel', 'redis', 'pgbouncer', 'postgres-replica', 'postgres-primary', 'postgres-ha', 'etcd']
    for (const kind of tiers) {
      const names = [...this.#entries.values()].filter((e) => e.unit.kind === kind).map((e) => e.unit.name)
      if (kind === 'etcd') {
        // One at a time: on SIGTERM an etcd leader hands leadership to a connected member, and when
        // that member is stopping too the hand-over first waits out etcd's request timeout (~7 s).
        for (const n of names) await this.#stop(n).catch(() => {})
        continue
      }
      await Promise.allSettled(names.map(async (n) => { await this.#stop(n) }))
    }
  }
}
