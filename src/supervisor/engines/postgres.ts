import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { appendFile, chown, mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import { OutgrowError } from '../../errors/index.js'
import { ManagedProcess, type RunAs } from '../managed-process.js'
import { postgresBinDir } from './binaries.js'
import { statementStatsSettings } from './pg-statement-stats.js'
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
        ...Object.entries({ ...statementStatsSettings(this.#bin), ...options.settings }).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
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
      // logical: replicas need only replica, the change feed (src/data/change-feed.ts) decodes rows.
      'wal_level = logical',
      'max_wal_senders = 10',
      'max_replication_slots = 10',
      'hot_standby = on',
      // pg_rewind needs it (or data checksums) to bring a former primary back as a replica.
      'wal_log_hints = on',
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

  /**
   * Clones primary into a streaming replica (standby.signal and primary_conninfo written by -R)
   * with a physical replication slot of its own, so the primary keeps the WAL the replica has not
   * received yet — a replica that was down, or a checkpoint on the primary, must not leave it
   * behind for good ("requested WAL segment has already been removed"). A stale slot of the same
   * name (a replica cloned again) is dropped first.
   */
  static async createReplica (primary: { readonly port: number }, options: PostgresOptions, slot = replicationSlotName(options.name)): Promise<PostgresServer> {
    const server = new PostgresServer(options)
    await server.#prepareDir()
    await dropReplicationSlot(primary.port, slot)
    await server.#exec('pg_basebackup', ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-D', options.dataDir, '-R', '-C', '-S', slot, '-X', 'stream', '-c', 'fast', '--no-sync'])
    return server
  }

  /** Starts the server; `place` puts it on its emulated server before it forks any helper. */
  async start (place: (pid: number) => void = () => {}, timeoutMs = 30_000): Promise<void> {
    this.process.start()
    if (this.process.pid !== undefined) place(this.process.pid)
    try {
      await waitUntil(async () => {
        const client = new pg.Client({ connectionString: this.adminUrl, connectionTimeoutMillis: 1000, query_timeout: 2000 })
        await client.connect()
        try {
          // A port picked free a moment before can be bound by another server first.
          const served = (await client.query<{ dir: string }>('SELECT current_setting(\'data_directory\') AS dir')).rows[0]?.dir
          if (served === undefined || resolve(served) !== resolve(this.options.dataDir)) throw new Error(`another server (${served ?? '?'}) answers on this port`)
        } finally {
          await client.end()
        }
      }, timeoutMs, () => this.process.running)
    } catch {
      throw new OutgrowError('OUTGROW_ENGINE_START_FAILED', `${this.options.name} did not start; last log lines:\n${this.process.logTail(15)}`)
    }
  }

  /**
   * For a replica: waits until it has replayed everything the primary had written when it was
   * asked, so that a replica that was down does not serve reads older than what clients already
   * saw. Returns false (and waits no more) if the primary cannot be asked or time runs out.
   */
  async catchUpWith (primaryPort: number, timeoutMs = 30_000): Promise<boolean> {
    const primary = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${primaryPort}/postgres`, connectionTimeoutMillis: 1000 })
    let target: string
    try {
      await primary.connect()
      target = (await primary.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]?.lsn ?? '0/0'
    } catch {
      return false
    } finally {
      await primary.end().catch(() => {})
    }
    const replica = new pg.Client({ connectionString: this.adminUrl, connectionTimeoutMillis: 1000 })
    await replica.connect()
    try {
      const deadline = Date.now() + timeoutMs
      while (Date.now() < deadline) {
        const { rows } = await replica.query<{ done: boolean }>('SELECT coalesce(pg_wal_lsn_diff(pg_last_wal_replay_lsn(), $1::pg_lsn) >= 0, false) AS done', [target])
        if (rows[0]?.done === true) return true
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      return false
    } finally {
      await replica.end().catch(() => {})
    }
  }

  /** The OS user the server runs as (root runs it as `postgres`); undefined: as ourselves. */
  get runAs (): RunAs | undefined { return this.#runAs }

  /**
   * pg_rewind of this stopped server's data dir against the running server at sourcePort (the new
   * primary): afterwards it can stream from it. A server whose WAL did not diverge is left as it is.
   */
  async rewindFrom (sourcePort: number): Promise<void> {
    await this.#exec('pg_rewind', ['--target-pgdata', this.options.dataDir, '--source-server', `host=127.0.0.1 port=${sourcePort} user=postgres dbname=postgres`])
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

/** A replication slot name for a replica unit (slot names allow lower-case letters, digits and _). */
export function replicationSlotName (replica: string): string {
  return replica.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 63)
}

/** Drops a replica's slot on the primary if it exists and no replica streams from it. */
export async function dropReplicationSlot (primaryPort: number, slot: string): Promise<void> {
  const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${primaryPort}/postgres`, connectionTimeoutMillis: 2000 })
  await client.connect()
  try {
    await client.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active', [slot])
  } finally {
    await client.end().catch(() => {})
  }
}
