import { chown, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import pg from 'pg'
import { OutgrowError } from '../../errors/index.js'
import { ManagedProcess, type RunAs } from '../managed-process.js'
import { pgbouncerBinary } from './binaries.js'
import { DATABASE } from './postgres.js'
import { postgresRunAs } from './run-as.js'
import { waitUntil } from './wait.js'

export interface PgBouncerOptions {
  readonly name: string
  /** Holds pgbouncer.ini; made on start, owned by the OS user PgBouncer runs as. */
  readonly dataDir: string
  readonly logFile: string
  readonly port: number
  /** The PostgreSQL server it pools (primary or replica), on loopback. */
  readonly serverPort: number
  /** Server connections per database (`default_pool_size`), and at most that many in all. */
  readonly poolSize: number
  /** Client connections it accepts (`max_client_conn`). */
  readonly maxClientConnections: number
}

/**
 * A PgBouncer of our own in transaction pooling mode: many client connections share `poolSize`
 * server connections, each lent for one transaction. Every database name is passed through to
 * the server (`*`), always as the `postgres` role; clients are not authenticated (`auth_type =
 * any`), like the trust auth of our PostgreSQL servers, and it listens on loopback only.
 */
export class PgBouncer {
  readonly options: PgBouncerOptions
  readonly process: ManagedProcess
  readonly #runAs: RunAs | undefined

  constructor (options: PgBouncerOptions) {
    this.options = options
    this.#runAs = postgresRunAs()
    this.process = new ManagedProcess({
      name: options.name,
      command: pgbouncerBinary(),
      args: [this.configFile],
      logFile: options.logFile,
      runAs: this.#runAs,
      // SIGINT is PgBouncer's safe shutdown: it waits for running transactions, then exits.
      parentDeathSignal: 'SIGINT',
    })
  }

  get configFile (): string { return join(this.options.dataDir, 'pgbouncer.ini') }
  get url (): string { return `postgres://postgres@127.0.0.1:${this.options.port}/${DATABASE}` }

  /** The config, written on every start so it always matches the options. */
  config (): string {
    const o = this.options
    return [
      '; written by outgrow on every start: edit the topology spec, not this file',
      '[databases]',
      `* = host=127.0.0.1 port=${o.serverPort} user=postgres`,
      '',
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${o.port}`,
      // No Unix socket: everything reaches it over loopback TCP.
      'unix_socket_dir =',
      'auth_type = any',
      'pool_mode = transaction',
      `max_client_conn = ${o.maxClientConnections}`,
      `default_pool_size = ${o.poolSize}`,
      `max_user_connections = ${o.poolSize}`,
      'reserve_pool_size = 0',
      // After a failed server login (the server restarting), retry within a second, not 15.
      'server_login_retry = 1',
      // PgBouncer refuses startup parameters it does not know. extra_float_digits comes from some
      // drivers; statement_timeout from our pools — a server connection here is shared between
      // clients, so the clients' own query time-out bounds their statements instead.
      'ignore_startup_parameters = extra_float_digits,statement_timeout',
      'log_connections = 0',
      'log_disconnections = 0',
      'admin_users = postgres',
      '',
    ].join('\n')
  }

  /** Writes the config and starts it; `place` puts it on its emulated server. */
  async start (place: (pid: number) => void = () => {}, timeoutMs = 15_000): Promise<void> {
    await mkdir(this.options.dataDir, { recursive: true, mode: 0o700 })
    await writeFile(this.configFile, this.config(), { mode: 0o600 })
    if (this.#runAs !== undefined) {
      await chown(this.options.dataDir, this.#runAs.uid, this.#runAs.gid)
      await chown(this.configFile, this.#runAs.uid, this.#runAs.gid)
    }
    this.process.start()
    if (this.process.pid !== undefined) place(this.process.pid)
    try {
      // Its admin console answers without a server connection: ready does not wait for PostgreSQL.
      await waitUntil(async () => {
        const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${this.options.port}/pgbouncer`, connectionTimeoutMillis: 1000 })
        client.on('error', () => {})
        await client.connect()
        try {
          await client.query('SHOW VERSION')
        } finally {
          await client.end()
        }
      }, timeoutMs, () => this.process.running)
    } catch {
      throw new OutgrowError('OUTGROW_ENGINE_START_FAILED', `${this.options.name} did not start; last log lines:\n${this.process.logTail(15)}`)
    }
  }

  async stop (): Promise<void> {
    await this.process.stop('SIGINT', 10_000)
  }
}
