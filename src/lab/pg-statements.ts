/**
 * The statements a PostgreSQL server spent its time on, from pg_stat_statements (preloaded and
 * created by the stack: supervisor/engines/pg-statement-stats.ts): at the knee of a capacity
 * search, what the database was busy with.
 */
import pg from 'pg'
import { OutgrowError } from '../errors/index.js'

export interface StatementStats {
  /** The normalised text ($1, $2 for constants), as pg_stat_statements keeps it. */
  readonly query: string
  readonly calls: number
  /** Execution time summed over calls (ms; planning not included). */
  readonly totalMs: number
  readonly meanMs: number
  /** totalMs as a fraction of the execution time of every statement counted in this database. */
  readonly share: number
  readonly rows: number
}

/**
 * This database's statements, its own queries left out (they mention pg_stat_statements); the
 * statistics are kept per server, so other databases' statements (the HA agents' and the health
 * checks' in `postgres`) are filtered out by dbid.
 */
const TOP_STATEMENTS = `
  WITH counted AS (
    SELECT query, calls, total_exec_time, rows
    FROM pg_stat_statements
    WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND query NOT LIKE '%pg_stat_statements%'
  )
  SELECT query, calls::float8 AS calls, total_exec_time AS total_ms, rows::float8 AS rows,
    coalesce(total_exec_time / nullif(sum(total_exec_time) OVER (), 0), 0) AS share
  FROM counted
  ORDER BY total_exec_time DESC
  LIMIT $1`

/** SQLSTATEs of a missing view (extension not created) and of a library not preloaded. */
const NOT_SET_UP = new Set(['42P01', '55000', '42883'])

async function withClient<T> (url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 })
  await client.connect()
  try {
    return await use(client)
  } catch (err) {
    const code = (err as { code?: string }).code
    if (code !== undefined && NOT_SET_UP.has(code)) {
      throw new OutgrowError('OUTGROW_METRICS_UNAVAILABLE', `pg_stat_statements cannot be read: ${(err as Error).message} (preload the library with shared_preload_libraries = 'pg_stat_statements' and run CREATE EXTENSION pg_stat_statements; Debian's postgresql-NN package ships it)`, undefined, { cause: err })
    }
    throw err
  } finally {
    await client.end().catch(() => {})
  }
}

/** Forgets every statement's statistics on the server at url, so the next reading covers only what follows. */
export async function resetStatements (url: string): Promise<void> {
  await withClient(url, async (client) => { await client.query('SELECT pg_stat_statements_reset()') })
}

/** The limit statements of url's database with the most execution time since the last reset, heaviest first. */
export async function topStatements (url: string, limit = 10): Promise<StatementStats[]> {
  return await withClient(url, async (client) => {
    const { rows } = await client.query<{ query: string, calls: number, total_ms: number, rows: number, share: number }>(TOP_STATEMENTS, [limit])
    return rows.map((r) => ({ query: r.query, calls: r.calls, totalMs: r.total_ms, meanMs: r.calls === 0 ? 0 : r.total_ms / r.calls, share: r.share, rows: r.rows }))
  })
}
