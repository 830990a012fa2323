import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { appendFile, chown, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import { OutgrowError } from '../../errors/index.js'
import { ManagedProcess, type RunAs } from '../managed-process.js'
import { postgresBinDir } from './binaries.js'
import { postgresRunAs } from './run-as.js'
import { waitUntil } from './wait.js'

const run = promisify(execFile)

export interface PostgresOptions {
  readonly name: string
  readonly dataDir: string
  readonly logFile: string
  readonly port: number
  /** fsync off trades crash safety for speed: for tests only. */
  readonly durable?: boolean
  /** Extra `-c name=value` settings on the command line (they win over the config files). */
  readonly settings?: Readonly<Record<string, string>>
}

export const DATABASE = 'outgrow'

/**
 * A PostgreSQL server of our own: initdb'd (primary) or cloned with `pg_basebackup -R`
 * (streaming replica), on its own port, socket in its data dir, trust auth on loopback.
 */
export class PostgresServer {
  readonly options: PostgresOptions
  readonly process: ManagedProcess
  readonly #bin: string
  readonly #runAs: RunAs | undefined

  private constructor (options: PostgresOptions) {
    this.options = options
    this.#bin = postgresBinDir()
    this.#runAs = postgresRunAs()
    this.process = new ManagedProcess({
      name: options.name,
      command: join(this.#bin, 'postgres'),
      args: [
        '-D', options.dataDir, '-p', String(options.port), '-k', options.dataDir, '-c', 'listen_addresses=127.0.0.1',
        ...Object.entries(options.settings ?? {}).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
      ],
      logFile: options.logFile,
      runAs: this.#runAs,
      // SIGINT is PostgreSQL's fast shutdown: clients are disconnected, data is consistent.
      parentDeathSignal: 'SIGINT',
    })
  }

  get url (): string { return `postgres://postgres@127.0.0.1:${this.options.port}/${DATABASE}` }
  get adminUrl (): string { return `postgres://postgres@127.0.0.1:${this.options.port}/postgres` }

  async #exec (binary: string, args: string[]): Promise<void> {
    const setpriv = this.#runAs === undefined ? [] : ['setpriv', `--reuid=${this.#runAs.uid}`, `--regid=${this.#runAs.gid}`, '--clear-groups', '--']
    const argv = [...setpriv, join(this.#bin, binary), ...args]
    try {
      await run(argv[0] as string, argv.slice(1), { cwd: '/' })
    } catch (err) {
      const e = err as { stderr?: string, message: string }
      throw new OutgrowError('OUTGROW_ENGINE_START_FAILED', `${binary} failed for ${this.options.name}: ${(e.stderr ?? e.message).trim()}`)
    }
  }

  async #prepareDir (): Promise<void> {
    await mkdir(this.options.dataDir, { recursive: true, mode: 0o700 })
    if (this.#runAs !== undefined) await chown(this.options.dataDir, this.#runAs.uid, this.#runAs.gid)
  }

  /** Whether dataDir already holds a database cluster (a stack started before). */
  static exists (dataDir: string): boolean {
    return existsSync(join(dataDir, 'PG_VERSION'))
  }

  /** A server over a data dir made before (by createPrimary or createReplica). */
  static open (options: PostgresOptions): PostgresServer {
    return new PostgresServer(options)
  }

  static async createPrimary (options: PostgresOptions): Promise<PostgresServer> {
    const server = new PostgresServer(options)
    await server.#prepareDir()
    await server.#exec('initdb', ['-D', options.dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync'])
    const settings = [
      'wal_level = replica',
      'max_wal_senders = 10',
      'max_replication_slots = 10',
      'hot_standby = on',
      // With synchronous_commit off, WAL reaches replicas in ~200 ms batches: replicas lag visibly.
      'synchronous_commit = on',
      `fsync = ${options.durable === false ? 'off' : 'on'}`,
      'max_connections = 300',
      'shared_buffers = 128MB',
      'log_min_messages = warning',
    ]
    await appendFile(join(options.dataDir, 'postgresql.conf'), `\n# outgrow\n${settings.join('\n')}\n`)
    await writeFile(join(options.dataDir, 'pg_hba.conf'), [
      'local all all trust',
      'host all all 127.0.0.1/32 trust',
      'local replication all trust',
      'host replication all 127.0.0.1/32 trust',
      '',
    ].join('\n'))
    return server
  }

  /** Clones primary into a streaming replica (standby.signal and primary_conninfo written by -R). */
  static async createReplica (primary: { readonly port: number }, options: PostgresOptions): Promise<PostgresServer> {
    const server = new PostgresServer(options)
    await server.#prepareDir()
    await server.#exec('pg_basebackup', ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-D', options.dataDir, '-R', '-X', 'stream', '-c', 'fast', '--no-sync'])
    return server
  }

  /** Starts the server; `place` puts it on its emulated server before it forks any helper. */
  async start (place: (pid: number) => void = () => {}, timeoutMs = 30_000): Promise<void> {
    this.process.start()
    if (this.process.pid !== undefined) place(this.process.pid)
    try {
      await waitUntil(async () => {
        const client = new pg.Client({ connectionString: this.adminUrl, connectionTimeoutMillis: 1000 })
        await client.connect()
        await client.end()
      }, timeoutMs, () => this.process.running)
    } catch {
      throw new OutgrowError('OUTGROW_ENGINE_START_FAILED', `${this.options.name} did not start; last log lines:\n${this.process.logTail(15)}`)
    }
  }

  async createDatabase (): Promise<void> {
    const client = new pg.Client({ connectionString: this.adminUrl })
    await client.connect()
    try {
      const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE])
      if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${DATABASE}`)
    } finally {
      await client.end()
    }
  }

  async stop (): Promise<void> {
    await this.process.stop('SIGINT', 15_000)
  }
}
