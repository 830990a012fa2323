import { join } from 'node:path'
import type { ProcessConfigInput } from '../../config/process-config.js'
import type { ServerEmulation } from '../../supervisor/emulation.js'
import { EtcdServer, type EtcdOptions } from '../../supervisor/engines/etcd.js'
import { PgBouncer, type PgBouncerOptions } from '../../supervisor/engines/pgbouncer.js'
import { PostgresServer } from '../../supervisor/engines/postgres.js'
import { RedisServer } from '../../supervisor/engines/redis.js'
import { RedisSentinel, type RedisSentinelOptions } from '../../supervisor/engines/redis-sentinel.js'
import type { ManagedProcess } from '../../supervisor/managed-process.js'
import { NodeProcess } from '../../supervisor/node-process.js'

/** One running process of the local executor, whatever its kind. */
export interface LocalHandle {
  /** Undefined until the first start has made the process (a PostgreSQL cluster is created first). */
  readonly process: ManagedProcess | undefined
  /** Starts (or starts again) and resolves with the address it serves on. */
  start(): Promise<string>
  /** Stops it cleanly (draining where the kind drains), killing it if that takes too long. */
  stop(): Promise<void>
}

export interface Placement {
  readonly emulation: ServerEmulation
  readonly server: string
  readonly cpus: number
}

const placer = (p: Placement) => (pid: number): void => { p.emulation.place(p.server, pid, p.cpus) }

export interface PostgresHandleOptions {
  readonly name: string
  readonly dataDir: string
  readonly logDir: string
  readonly port: number
  readonly durable: boolean
  readonly settings: Record<string, string>
  readonly placement: Placement
  /** Replicas clone this primary's port the first time (pg_basebackup). */
  readonly primaryPort?: number
  /** Runs after every start of a primary: database, migrations, seed on a fresh cluster. */
  readonly bootstrap?: (url: string, fresh: boolean) => Promise<void>
}

/** A PostgreSQL primary or streaming replica; its data dir is reused when it exists. */
export class PostgresHandle implements LocalHandle {
  readonly #options: PostgresHandleOptions
  #server: PostgresServer | undefined

  constructor (options: PostgresHandleOptions) {
    this.#options = options
  }

  get process (): ManagedProcess | undefined { return this.#server?.process }

  async start (): Promise<string> {
    const o = this.#options
    const serverOptions = { name: o.name, dataDir: o.dataDir, logFile: join(o.logDir, `${o.name}.log`), port: o.port, durable: o.durable, settings: o.settings }
    let fresh = false
    if (this.#server === undefined) {
      if (PostgresServer.exists(o.dataDir)) {
        this.#server = PostgresServer.open(serverOptions)
      } else if (o.primaryPort === undefined) {
        this.#server = await PostgresServer.createPrimary(serverOptions)
        fresh = true
      } else {
        this.#server = await PostgresServer.createReplica({ port: o.primaryPort }, serverOptions)
      }
    }
    await this.#server.start(placer(o.placement))
    // A replica counts as ready once it has what the primary had: reads must not go back in time.
    if (o.primaryPort !== undefined) await this.#server.catchUpWith(o.primaryPort)
    if (o.bootstrap !== undefined) {
      await this.#server.createDatabase()
      await o.bootstrap(this.#server.url, fresh)
    }
    return this.#server.url
  }

  async stop (): Promise<void> {
    await this.#server?.stop()
  }
}

export interface RedisHandleOptions {
  readonly name: string
  readonly dataDir: string
  readonly logDir: string
  readonly port: number
  readonly persistent: boolean
  readonly placement: Placement
  /**
   * With Sentinel: the port of the group's current master, asked before every start. A node that
   * is not that master starts as its replica, so one restarted after a failover never comes back
   * as a second master with stale data. Without it the node is a master.
   */
  readonly masterPort?: () => Promise<number | undefined>
}

/** A Redis data node: a master, or (with Sentinel) whatever the Sentinels say it is now. */
export class RedisHandle implements LocalHandle {
  readonly #options: RedisHandleOptions
  readonly #server: RedisServer

  constructor (options: RedisHandleOptions) {
    this.#options = options
    this.#server = new RedisServer({ name: options.name, dataDir: options.dataDir, logFile: join(options.logDir, `${options.name}.log`), port: options.port, persistent: options.persistent })
  }

  get process (): ManagedProcess { return this.#server.process }

  async start (): Promise<string> {
    const master = await this.#options.masterPort?.()
    await this.#server.start(placer(this.#options.placement), 15_000, master === this.#options.port ? undefined : master)
    return this.#server.url
  }

  async stop (): Promise<void> {
    await this.#server.stop()
  }
}

/** One Redis Sentinel; it keeps what it learned (the current master) in its data dir. */
export class RedisSentinelHandle implements LocalHandle {
  readonly #sentinel: RedisSentinel
  readonly #placement: Placement

  constructor (options: RedisSentinelOptions, placement: Placement) {
    this.#sentinel = new RedisSentinel(options)
    this.#placement = placement
  }

  get process (): ManagedProcess | undefined { return this.#sentinel.process }

  async start (): Promise<string> {
    await this.#sentinel.start(placer(this.#placement))
    return this.#sentinel.url
  }

  async stop (): Promise<void> {
    await this.#sentinel.stop()
  }
}

/** A PgBouncer in front of one PostgreSQL server; its config is written again on every start. */
export class PgBouncerHandle implements LocalHandle {
  readonly #bouncer: PgBouncer
  readonly #placement: Placement

  constructor (options: PgBouncerOptions, placement: Placement) {
    this.#bouncer = new PgBouncer(options)
    this.#placement = placement
  }

  get process (): ManagedProcess { return this.#bouncer.process }

  async start (): Promise<string> {
    await this.#bouncer.start(placer(this.#placement))
    return this.#bouncer.url
  }

  async stop (): Promise<void> {
    await this.#bouncer.stop()
  }
}

/**
 * One etcd member; it rejoins as `existing` once its data dir holds a WAL. Its start resolves only
 * when a quorum of members runs, so the members of a fresh cluster are started together.
 */
export class EtcdHandle implements LocalHandle {
  readonly #server: EtcdServer
  readonly #placement: Placement

  constructor (options: EtcdOptions, placement: Placement) {
    this.#server = new EtcdServer(options)
    this.#placement = placement
  }

  get process (): ManagedProcess | undefined { return this.#server.process }

  async start (): Promise<string> {
    await this.#server.start(placer(this.#placement))
    return this.#server.url
  }

  async stop (): Promise<void> {
    await this.#server.stop()
  }
}

/** An app instance, worker or gateway: it reports the address it bound when ready. */
export class NodeHandle implements LocalHandle {
  readonly #node: NodeProcess
  readonly #placement: Placement

  constructor (name: string, config: ProcessConfigInput, logDir: string, placement: Placement) {
    this.#node = new NodeProcess({ name, config, logDir })
    this.#placement = placement
  }

  get process (): ManagedProcess { return this.#node.process }

  async start (): Promise<string> {
    const ready = await this.#node.start(placer(this.#placement))
    const address = ready.url ?? ready.address ?? ''
    return address.replace('//0.0.0.0:', '//127.0.0.1:').replace('//[::]:', '//127.0.0.1:')
  }

  async stop (): Promise<void> {
    await this.#node.stop()
  }
}
