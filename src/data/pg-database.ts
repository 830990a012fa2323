import pg from 'pg'
import { OutgrowError } from '../errors/index.js'
import type { DbConfig } from '../config/process-config.js'
import { dbQueries, dbReadRouting } from '../runtime/metrics.js'
import type { Db, Queryable, QueryResult, ReadOptions, WritePosition } from '../runtime/ports.js'
import { parseLsn } from './lsn.js'
import { ReplicaTracker } from './replica-tracker.js'

const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', '57P01', '57P03', '08006', '08001'])

function wrapError (err: unknown): never {
  const code = (err as { code?: string }).code
  if (code !== undefined && CONNECTION_ERRORS.has(code)) {
    throw new OutgrowError('OUTGROW_DB_UNAVAILABLE', `database unavailable: ${(err as Error).message}`, undefined, { cause: err })
  }
  throw err
}

interface Replica {
  readonly pool: pg.Pool
  readonly tracker: ReplicaTracker
}

/**
 * The db port on PostgreSQL: writes and transactions on the primary, reads spread over
 * streaming replicas, and read-your-writes by write position (LSN).
 */
export class PgDatabase implements Db {
  readonly #primary: pg.Pool
  readonly #replicas: Replica[]
  #next = 0

  constructor (config: DbConfig) {
    this.#primary = new pg.Pool({ connectionString: config.primary, max: config.poolSize })
    this.#primary.on('error', () => { /* an idle client died; the pool replaces it */ })
    this.#replicas = config.replicas.map((url) => {
      const pool = new pg.Pool({ connectionString: url, max: config.poolSize })
      pool.on('error', () => {})
      const tracker = new ReplicaTracker(pool, config.replicaPollMs)
      tracker.start()
      return { pool, tracker }
    })
  }

  async read<Row> (sql: string, params: readonly unknown[] = [], options: ReadOptions = {}): Promise<QueryResult<Row>> {
    const replica = options.primary === true ? undefined : this.#pickReplica(options.after)
    if (replica === undefined) {
      dbQueries.inc({ target: 'primary' })
      return await this.#primary.query(sql, params as unknown[]).catch(wrapError) as unknown as QueryResult<Row>
    }
    dbQueries.inc({ target: 'replica' })
    try {
      return await replica.pool.query(sql, params as unknown[]) as unknown as QueryResult<Row>
    } catch (err) {
      // A replica that fails is skipped for this read; the primary can always answer.
      const code = (err as { code?: string }).code
      if (code === undefined || !CONNECTION_ERRORS.has(code)) throw err
      dbQueries.inc({ target: 'primary' })
      return await this.#primary.query(sql, params as unknown[]).catch(wrapError) as unknown as QueryResult<Row>
    }
  }

  async write<Row> (sql: string, params: readonly unknown[] = []): Promise<QueryResult<Row> & { position: WritePosition }> {
    const client = await this.#primary.connect().catch(wrapError)
    try {
      dbQueries.inc({ target: 'primary' }, 2)
      const result = await client.query(sql, params as unknown[])
      const position = await currentPosition(client)
      return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0, position }
    } catch (err) {
      return wrapError(err)
    } finally {
      client.release()
    }
  }

  async transaction<T> (fn: (tx: Queryable) => Promise<T>): Promise<{ value: T, position: WritePosition }> {
    const client = await this.#primary.connect().catch(wrapError)
    let broken = false
    const tx: Queryable = {
      query: async <Row>(sql: string, params: readonly unknown[] = []) => {
        dbQueries.inc({ target: 'primary' })
        const result = await client.query(sql, params as unknown[])
        return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 }
      },
    }
    try {
      dbQueries.inc({ target: 'primary' }, 3)
      await client.query('BEGIN')
      const value = await fn(tx)
      await client.query('COMMIT')
      const position = await currentPosition(client)
      return { value, position }
    } catch (err) {
      await client.query('ROLLBACK').catch(() => { broken = true })
      return wrapError(err)
    } finally {
      client.release(broken)
    }
  }

  #pickReplica (after: WritePosition | undefined): Replica | undefined {
    const count = this.#replicas.length
    if (count === 0) {
      dbReadRouting.inc({ reason: 'no_replica' })
      return undefined
    }
    const required = after === undefined ? -1n : parseLsn(after)
    for (let i = 0; i < count; i++) {
      const replica = this.#replicas[(this.#next + i) % count] as Replica
      if (replica.tracker.healthy && replica.tracker.hasReplayed(required)) {
        this.#next = (this.#next + i + 1) % count
        dbReadRouting.inc({ reason: 'replica' })
        return replica
      }
    }
    dbReadRouting.inc({ reason: 'replica_behind' })
    return undefined
  }

  async ping (): Promise<void> {
    await this.#primary.query('SELECT 1').catch(wrapError)
  }

  async close (): Promise<void> {
    for (const replica of this.#replicas) replica.tracker.stop()
    await Promise.all([this.#primary.end(), ...this.#replicas.map(async (r) => { await r.pool.end() })])
  }
}

async function currentPosition (client: pg.PoolClient): Promise<WritePosition> {
  const result = await client.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')
  return (result.rows[0] as { lsn: string }).lsn
}
