import { formatLsn } from '../../src/data/lsn.js'
import type { PoolFactory, SqlClient, SqlPool, SqlResult } from '../../src/data/sql-pool.js'

/**
 * A PostgreSQL server reduced to what the db port's failover handling depends on: whether it is in
 * recovery or fenced, its WAL position and timeline, and three faults — down (connections refused),
 * frozen (nothing answers until thawed; a destroyed client's statement fails at once), and the
 * read-only refusal of a fenced primary or an unpromoted replica.
 */
export class FakeServer {
  inRecovery: boolean
  fenced = false
  down = false
  lsn: bigint
  timeline: number
  /** Statements that ran here (writes and reads, not the port's own position and tracker queries). */
  readonly statements: string[] = []
  /** Every query string, in order: one round trip each, however many statements it holds. */
  readonly sent: string[] = []
  /** Clients closed instead of returned to the pool. */
  destroyedClients = 0
  #frozen: Array<() => void> | undefined

  constructor (readonly name: string, options: { inRecovery?: boolean, lsn?: bigint, timeline?: number } = {}) {
    this.inRecovery = options.inRecovery ?? false
    this.lsn = options.lsn ?? 0x1000000n
    this.timeline = options.timeline ?? 1
  }

  freeze (): void { this.#frozen ??= [] }

  thaw (): void {
    const waiting = this.#frozen ?? []
    this.#frozen = undefined
    for (const wake of waiting) wake()
  }

  /** Promotion: out of recovery onto the next timeline, at the current position. */
  promote (): void {
    this.inRecovery = false
    this.timeline++
  }

  async #answer (destroyed: () => boolean): Promise<void> {
    if (this.#frozen !== undefined) {
      const frozen = this.#frozen
      await new Promise<void>((resolve) => { frozen.push(resolve) })
    }
    if (destroyed()) throw Object.assign(new Error('Connection terminated'), { code: undefined })
    if (this.down) throw Object.assign(new Error(`connect ECONNREFUSED (${this.name})`), { code: 'ECONNREFUSED' })
  }

  /** Statements separated by semicolons, one answer each (the simple query protocol): the last one's result. */
  async query<Row> (sql: string, destroyed: () => boolean = () => false): Promise<SqlResult<Row>> {
    const results = await this.queryAll(sql, destroyed)
    return results[results.length - 1] as SqlResult<Row>
  }

  async queryAll (sql: string, destroyed: () => boolean = () => false): Promise<Array<SqlResult<Record<string, unknown>>>> {
    await this.#answer(destroyed)
    this.sent.push(sql)
    const statements = sql.split(';').map((part) => part.trim()).filter((part) => part !== '')
    // As PostgreSQL's parser: a syntax error anywhere in the string runs none of it.
    if (statements.some((statement) => statement.startsWith('SYNTAX ERROR'))) throw Object.assign(new Error('syntax error'), { code: '42601' })
    const results: Array<SqlResult<Record<string, unknown>>> = []
    for (const statement of statements) results.push(this.#statement(statement))
    return results
  }

  #statement<Row> (sql: string): SqlResult<Row> {
    const rows = (list: unknown[]): SqlResult<Row> => ({ rows: list as Row[], rowCount: list.length, command: /^\s*(\w+)/.exec(sql)?.[1]?.toUpperCase() })
    if (sql.includes('pg_last_wal_replay_lsn')) return rows([{ recovery: this.inRecovery, lsn: formatLsn(this.lsn), timeline: this.timeline }])
    if (sql.includes('pg_walfile_name')) {
      if (this.inRecovery) throw Object.assign(new Error('recovery is in progress'), { code: '55000' })
      return rows([{ lsn: formatLsn(this.lsn), timeline: this.timeline }])
    }
    if (/^(BEGIN|COMMIT|ROLLBACK)$/.test(sql)) return rows([])
    if (/^\s*(INSERT|UPDATE|DELETE)/i.test(sql)) {
      if (this.inRecovery || this.fenced) throw Object.assign(new Error('cannot execute INSERT in a read-only transaction'), { code: '25006' })
      this.lsn += 0x100n
    }
    this.statements.push(sql)
    return rows([{ server: this.name }])
  }

  pool (): SqlPool {
    return {
      query: async <Row>(sql: string) => await this.query<Row>(sql),
      connect: async () => {
        await this.#answer(() => false)
        return this.#client()
      },
      onIdleError: () => {},
      end: async () => {},
    }
  }

  #client (): SqlClient {
    let destroyed = false
    return {
      query: async <Row>(sql: string) => await this.query<Row>(sql, () => destroyed),
      release: (destroy) => {
        if (!destroy) return
        destroyed = true
        this.destroyedClients++
      },
      onError: () => () => {},
    }
  }
}

/** Pools for `fake://<name>` URLs, served by the given servers. */
export function fakePools (...servers: FakeServer[]): PoolFactory {
  return (url) => {
    const server = servers.find((s) => url === `fake://${s.name}`)
    if (server === undefined) throw new Error(`no fake server for ${url}`)
    return server.pool()
  }
}
