import pg from 'pg'
import type { z } from 'zod'
import { dbConfigSchema } from '../config/process-config.js'
import { OutgrowError } from '../errors/index.js'
import { isPgConnectionError, isPgOverloadError, isReplicaRecoveryConflict } from '../runtime/connection-errors.js'
import { DependencyHealth, type DependencyState, type ReportsDependencies } from '../runtime/dependencies.js'
import { dbQueries, dbReadRouting } from '../runtime/metrics.js'
import { PRIMARY_ONLY_POSITION, type Db, type Queryable, type QueryResult, type ReadOptions, type WritePosition } from '../runtime/ports.js'
import { formatLsn, parseLsn } from './lsn.js'
import { ReplicaTracker } from './replica-tracker.js'

/** The client gives up this long after the server's statement_timeout, so the server's cancel normally comes first. */
const CLIENT_TIMEOUT_MARGIN_MS = 1000

interface Replica {
  readonly pool: pg.Pool
  readonly tracker: ReplicaTracker
}

/** The pooled clients of one server: every connect and every statement is bounded in time. */
function createPool (url: string, config: z.output<typeof dbConfigSchema>): pg.Pool {
  return new pg.Pool({
    connectionString: url,
    max: config.poolSize,
    connectionTimeoutMillis: config.connectTimeoutMs,
    statement_timeout: config.statementTimeoutMs,
    query_timeout: config.statementTimeoutMs + CLIENT_TIMEOUT_MARGIN_MS,
  })
}

/**
 * The db port on PostgreSQL: writes and transactions on the primary, reads spread over
 * streaming replicas, and read-your-writes by write position (LSN).
 *
 * While the primary is down, writes and transactions fail at once with a retryable
 * OUTGROW_DB_UNAVAILABLE naming it, and reads go to a replica that has replayed what they must
 * see. The pool reconnects by itself when the primary is back.
 */
export class PgDatabase implements Db, ReportsDependencies {
  readonly #primary: pg.Pool
  readonly #primaryHealth: DependencyHealth
  readonly #replicas: Replica[]
  #next = 0

  /** Takes the process config's `db` section; timeouts left out get their defaults. */
  constructor (input: z.input<typeof dbConfigSchema>) {
    const config = dbConfigSchema.parse(input)
    this.#primary = createPool(config.primary, config)
    this.#primaryHealth = new DependencyHealth('primary', async () => {
      // A pool too busy to lend a connection in time is busy, not down.
      await this.#primary.query('SELECT 1').catch((err: unknown) => { if (!isPgOverloadError(err)) throw err })
    })
    // An idle client died (e.g. the server was killed): the pool drops it; we learn the primary is down.
    this.#primary.on('error', (err) => { if (isPgConnectionError(err)) this.#primaryHealth.markDown(err) })
    this.#replicas = config.replicas.map((url) => {
      const pool = createPool(url, config)
      pool.on('error', () => { /* the tracker's next poll notices */ })
      const tracker = new ReplicaTracker(pool, config.replicaPollMs)
      tracker.start()
      return { pool, tracker }
    })
  }

  async read<Row> (sql: string, params: readonly unknown[] = [], options: ReadOptions = {}): Promise<QueryResult<Row>> {
    const replica = options.primary === true ? undefined : this.#pickReplica(options.after, 'replica')
    if (replica !== undefined) {
      try {
        return await this.#readOnReplica<Row>(replica, sql, params)
      } catch (err) {
        // A replica that fails, or cancels the read to keep replaying, is skipped for this read;
        // the primary can answer.
        if (!isPgConnectionError(err) && !isReplicaRecoveryConflict(err)) throw overloadAsUnavailable(err, 'database replica')
      }
    }
    try {
      dbQueries.inc({ target: 'primary' })
      return await this.#onPrimary(async () => await this.#primary.query(sql, params as unknown[])) as unknown as QueryResult<Row>
    } catch (err) {
      if (options.primary === true || !this.#primaryDown(err)) throw err
      // The primary is down: a replica that has replayed what this read must see still answers.
      const fallback = this.#pickReplica(options.after, 'primary_down', replica)
      if (fallback === undefined) {
        const why = options.after === undefined ? 'no replica answers' : 'no replica has replayed the write this read must see'
        throw new OutgrowError('OUTGROW_DB_UNAVAILABLE', `database primary unavailable and ${why}`, undefined, { cause: err })
      }
      return await this.#readOnReplica<Row>(fallback, sql, params).catch((replicaErr: unknown) => {
        throw isPgConnectionError(replicaErr) ? err : overloadAsUnavailable(replicaErr, 'database replica')
      })
    }
  }

  async write<Row> (sql: string, params: readonly unknown[] = []): Promise<QueryResult<Row> & { position: WritePosition }> {
    const { client, checkIn } = await this.#checkOut()
    let failure: unknown
    try {
      dbQueries.inc({ target: 'primary' }, 2)
      const result = await this.#onPrimary(async () => await client.query(sql, params as unknown[]))
      // The statement has committed (autocommit): from here on it must not be reported as failed.
      const position = await this.#positionAfterCommit(client).catch((err: unknown) => { failure = err; return PRIMARY_ONLY_POSITION })
      return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0, position }
    } catch (err) {
      failure = err
      throw err
    } finally {
      // A client whose connection broke goes away instead of back into the pool.
      checkIn(isUnavailable(failure))
    }
  }

  async transaction<T> (fn: (tx: Queryable) => Promise<T>): Promise<{ value: T, position: WritePosition }> {
    const { client, checkIn } = await this.#checkOut()
    let broken = false
    const tx: Queryable = {
      query: async <Row>(sql: string, params: readonly unknown[] = []) => {
        dbQueries.inc({ target: 'primary' })
        const result = await this.#onPrimary(async () => await client.query(sql, params as unknown[]))
        return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 }
      },
    }
    try {
      dbQueries.inc({ target: 'primary' }, 3)
      await this.#onPrimary(async () => await client.query('BEGIN'))
      const value = await fn(tx)
      // If the connection breaks during COMMIT the outcome is unknown; callers make retries
      // safe with idempotency keys.
      await this.#onPrimary(async () => await client.query('COMMIT'))
      const position = await this.#positionAfterCommit(client).catch((err: unknown) => {
        broken = isUnavailable(err)
        return PRIMARY_ONLY_POSITION
      })
      return { value, position }
    } catch (err) {
      await client.query('ROLLBACK').catch(() => { broken = true })
      throw err
    } finally {
      checkIn(broken)
    }
  }

  /**
   * A client of the primary for several statements. The pool listens for errors of idle clients
   * only; a checked-out client whose server dies emits 'error' too, which would crash the process
   * without this listener (the pending query rejects as well).
   */
  async #checkOut (): Promise<{ client: pg.PoolClient, checkIn: (broken: boolean) => void }> {
    const client = await this.#onPrimary(async () => await this.#primary.connect())
    const onError = (err: Error): void => { if (isPgConnectionError(err)) this.#primaryHealth.markDown(err) }
    client.on('error', onError)
    return {
      client,
      checkIn: (broken) => {
        client.off('error', onError)
        client.release(broken)
      },
    }
  }

  /**
   * The primary's WAL position after a commit. If it cannot be read, the caller still succeeds
   * (the write committed) with PRIMARY_ONLY_POSITION, so reads after it go to the primary.
   */
  async #positionAfterCommit (client: pg.PoolClient): Promise<WritePosition> {
    return await this.#onPrimary(async () => {
      const result = await client.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')
      return formatLsn(parseLsn((result.rows[0] as { lsn: string }).lsn))
    })
  }

  /** Runs an operation on the primary and turns a connection failure into a 503 naming it. */
  async #onPrimary<T> (operation: () => Promise<T>): Promise<T> {
    try {
      const result = await operation()
      this.#primaryHealth.markUp()
      return result
    } catch (err) {
      if (isPgConnectionError(err)) {
        this.#primaryHealth.markDown(err)
        throw new OutgrowError('OUTGROW_DB_UNAVAILABLE', 'database primary unavailable', { dependency: 'primary' }, { cause: err })
      }
      throw overloadAsUnavailable(err, 'database primary')
    }
  }

  #primaryDown (err: unknown): boolean {
    return err instanceof OutgrowError && err.code === 'OUTGROW_DB_UNAVAILABLE' && isPgConnectionError(err.cause)
  }

  async #readOnReplica<Row> (replica: Replica, sql: string, params: readonly unknown[]): Promise<QueryResult<Row>> {
    dbQueries.inc({ target: 'replica' })
    return await replica.pool.query(sql, params as unknown[]) as unknown as QueryResult<Row>
  }

  /** A replica that has replayed `after` (round robin), or undefined: the read needs the primary. */
  #pickReplica (after: WritePosition | undefined, reason: 'replica' | 'primary_down', except?: Replica): Replica | undefined {
    const count = this.#replicas.length
    if (count === 0) {
      dbReadRouting.inc({ reason: 'no_replica' })
      return undefined
    }
    if (after === PRIMARY_ONLY_POSITION) {
      dbReadRouting.inc({ reason: 'primary_only' })
      return undefined
    }
    const required = after === undefined ? -1n : parseLsn(after)
    for (let i = 0; i < count; i++) {
      const replica = this.#replicas[(this.#next + i) % count] as Replica
      if (replica !== except && replica.tracker.healthy && replica.tracker.hasReplayed(required)) {
        this.#next = (this.#next + i + 1) % count
        dbReadRouting.inc({ reason })
        return replica
      }
    }
    dbReadRouting.inc({ reason: 'replica_behind' })
    return undefined
  }

  /** Whether the primary and each replica answer (cached briefly, see DependencyHealth). */
  async dependencyStates (): Promise<{ primary: DependencyState, replicas: DependencyState[] }> {
    return {
      primary: await this.#primaryHealth.current(),
      replicas: this.#replicas.map((r) => r.tracker.healthy ? 'up' : 'down'),
    }
  }

  /** Resolves when the database can serve something: the primary or at least one replica answers. */
  async assertCanServe (): Promise<void> {
    const states = await this.dependencyStates()
    if (states.primary === 'up' || states.replicas.includes('up')) return
    throw new OutgrowError('OUTGROW_DB_UNAVAILABLE', 'neither the database primary nor any replica answers')
  }

  async close (): Promise<void> {
    for (const replica of this.#replicas) replica.tracker.stop()
    await Promise.all([this.#primary.end(), ...this.#replicas.map(async (r) => { await r.pool.end() })])
  }
}

function isUnavailable (err: unknown): boolean {
  return err instanceof OutgrowError && err.code === 'OUTGROW_DB_UNAVAILABLE'
}

/** A pool without a free connection in time, or a statement over statement_timeout: retryable. */
function overloadAsUnavailable (err: unknown, part: string): unknown {
  if (!isPgOverloadError(err)) return err
  return new OutgrowError('OUTGROW_DB_UNAVAILABLE', `${part} did not answer in time`, undefined, { cause: err })
}
