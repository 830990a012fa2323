import pg from 'pg'
import type { DbConfig } from '../config/process-config.js'

/**
 * The little of node-postgres the db port uses, so that the port can be tested on a fake server:
 * a pool per server that lends clients for several statements or runs one statement itself.
 */
export interface SqlResult<Row> {
  readonly rows: Row[]
  readonly rowCount: number | null
  /** The statement's command tag (COMMIT answers ROLLBACK when its transaction had failed). */
  readonly command?: string
}

export interface SqlQueryable {
  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<SqlResult<Row>>
}

export interface SqlClient extends SqlQueryable {
  /** Back to the pool; `destroy` closes the connection instead (it broke, or its statement was abandoned). */
  release(destroy: boolean): void
  /** A checked-out client whose server goes away emits 'error'; without a listener the process would crash. */
  onError(listener: (err: Error) => void): () => void
}

export interface SqlPool extends SqlQueryable {
  connect(): Promise<SqlClient>
  /** Errors of idle clients (e.g. the server was killed); the pool drops them. */
  onIdleError(listener: (err: Error) => void): void
  end(): Promise<void>
}

/** Opens the pool of one server, given its URL. */
export type PoolFactory = (url: string) => SqlPool

/** The client gives up this long after the server's statement_timeout, so the server's cancel normally comes first. */
const CLIENT_TIMEOUT_MARGIN_MS = 1000

/** node-postgres pools: every connect and every statement is bounded in time. */
export function pgPoolFactory (config: Pick<DbConfig, 'poolSize' | 'connectTimeoutMs' | 'statementTimeoutMs' | 'poolIdleTimeoutMs'>): PoolFactory {
  return (url) => {
    const pool = new pg.Pool({
      connectionString: url,
      max: config.poolSize,
      idleTimeoutMillis: config.poolIdleTimeoutMs,
      connectionTimeoutMillis: config.connectTimeoutMs,
      statement_timeout: config.statementTimeoutMs,
      query_timeout: config.statementTimeoutMs + CLIENT_TIMEOUT_MARGIN_MS,
    })
    // Connections not yet closed: pg-pool's end() resolves once it has asked each to end, not once
    // they have, and a server stopped in between reaches a half-closed one (an 'error' nobody hears).
    const open = new Set<pg.PoolClient>()
    pool.on('connect', (client) => {
      open.add(client)
      client.once('end', () => { open.delete(client) })
    })
    return {
      query: async <Row>(sql: string, params: readonly unknown[] = []) => resultOf<Row>(await pool.query(sql, [...params])),
      connect: async () => clientOf(await pool.connect()),
      onIdleError: (listener) => { pool.on('error', listener) },
      end: async () => {
        await pool.end()
        await Promise.all([...open].map(async (client) => await closed(client)))
      },
    }
  }
}

/** Resolves when a connection that was asked to end has ended (at most END_WAIT_MS); its errors meanwhile are moot. */
const END_WAIT_MS = 2000

async function closed (client: pg.PoolClient): Promise<void> {
  client.on('error', () => {})
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, END_WAIT_MS)
    client.once('end', () => { clearTimeout(timer); resolve() })
  })
}

function clientOf (client: pg.PoolClient): SqlClient {
  return {
    query: async <Row>(sql: string, params: readonly unknown[] = []) => resultOf<Row>(await client.query(sql, [...params])),
    release: (destroy) => { client.release(destroy) },
    onError: (listener) => {
      client.on('error', listener)
      return () => { client.off('error', listener) }
    },
  }
}

/**
 * Statements without parameters go by the simple query protocol, so one string may hold several;
 * node-postgres then answers with one result each, and the last is the answer.
 */
function resultOf<Row> (answer: pg.QueryResult | pg.QueryResult[]): SqlResult<Row> {
  const result = Array.isArray(answer) ? answer[answer.length - 1] as pg.QueryResult : answer
  return { rows: result.rows as Row[], rowCount: result.rowCount, command: result.command }
}
