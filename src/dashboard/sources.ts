import type { Redis } from 'ioredis'
import pg from 'pg'
import { Agent, request } from 'undici'
import { selectingFamilies } from '../lab/prometheus-text.js'
import { createRedisClient } from '../runtime/redis-client.js'
import type { PgNodeReading, RedisReading } from './build-sample.js'

/**
 * Where the collector's readings come from, as an interface so tests hand it fakes. The real one
 * keeps its connections open between samples (a keep-alive pool for /metrics, one PostgreSQL and
 * one Redis connection per node), so watching costs one small request per process per sample.
 */
export interface DashboardSources {
  /** A process's /metrics text; with `families`, an app process sends only those (`name[]=`). */
  metrics(url: string, signal: AbortSignal, families?: readonly string[]): Promise<string>
  postgres(name: string, url: string): Promise<PgNodeReading>
  redis(name: string, url: string): Promise<RedisReading>
  close(): Promise<void>
}

/** How long one source may take before its figures are left out of the sample. */
export const SOURCE_BUDGET_MS = 500

const NODE_READING = `
  SELECT pg_is_in_recovery() AS in_recovery,
    coalesce(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END, '0/0')::text AS lsn,
    (SELECT coalesce(sum(xact_commit + xact_rollback), 0) FROM pg_stat_database)::float8 AS transactions,
    (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int AS connections,
    (CASE WHEN NOT pg_is_in_recovery() THEN NULL
      WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
      ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END)::float8 AS replay_lag`
const STATEMENTS = 'SELECT coalesce(sum(calls), 0)::float8 AS calls FROM pg_stat_statements'

interface PgNode { url: string, client: pg.Client, ready: Promise<void>, statements: boolean }

export class LiveSources implements DashboardSources {
  readonly #agent = new Agent({ keepAliveTimeout: 30_000, connections: 2, headersTimeout: SOURCE_BUDGET_MS, bodyTimeout: SOURCE_BUDGET_MS })
  readonly #pg = new Map<string, PgNode>()
  readonly #redis = new Map<string, { url: string, client: Redis }>()

  async metrics (url: string, signal: AbortSignal, families?: readonly string[]): Promise<string> {
    const res = await request(families === undefined ? url : selectingFamilies(url, families), { dispatcher: this.#agent, signal })
    const text = await res.body.text()
    if (res.statusCode !== 200) throw new Error(`GET ${url} answered ${res.statusCode}`)
    return text
  }

  #pgNode (name: string, url: string): PgNode {
    const known = this.#pg.get(name)
    if (known !== undefined && known.url === url) return known
    if (known !== undefined) this.#dropPg(name)
    const client = new pg.Client({ connectionString: url, application_name: 'outgrow-dashboard', statement_timeout: SOURCE_BUDGET_MS, query_timeout: SOURCE_BUDGET_MS, connectionTimeoutMillis: SOURCE_BUDGET_MS })
    // A node that goes away (killed, fenced) ends the connection; the next sample opens another.
    client.on('error', () => { this.#dropPg(name) })
    const node: PgNode = { url, client, ready: client.connect().then(() => {}), statements: true }
    node.ready.catch(() => { this.#dropPg(name) })
    this.#pg.set(name, node)
    return node
  }

  #dropPg (name: string): void {
    const node = this.#pg.get(name)
    if (node === undefined) return
    this.#pg.delete(name)
    node.client.end().catch(() => {})
  }

  async postgres (name: string, url: string): Promise<PgNodeReading> {
    const node = this.#pgNode(name, url)
    try {
      await node.ready
      const { rows } = await node.client.query<{ in_recovery: boolean, lsn: string, transactions: number, connections: number, replay_lag: number | null }>(NODE_READING)
      const row = rows[0]
      if (row === undefined) throw new Error('no row')
      let statements: number | null = null
      if (node.statements) {
        // Statement statistics may be off on this server: transactions stand in for them then.
        statements = await node.client.query<{ calls: number }>(STATEMENTS).then((r) => r.rows[0]?.calls ?? null, () => { node.statements = false; return null })
      }
      return { at: Date.now(), inRecovery: row.in_recovery, lsn: row.lsn, statements, transactions: row.transactions, connections: row.connections, replayLagSeconds: row.replay_lag }
    } catch (err) {
      this.#dropPg(name)
      throw err
    }
  }

  async redis (name: string, url: string): Promise<RedisReading> {
    let known = this.#redis.get(name)
    if (known?.url !== url) {
      known?.client.disconnect()
      known = { url, client: createRedisClient(url, { purpose: 'command', overrides: { commandTimeout: SOURCE_BUDGET_MS, connectionName: 'outgrow-dashboard' } }) }
      this.#redis.set(name, known)
    }
    const [stats, memory] = await Promise.all([known.client.info('stats'), known.client.info('memory')])
    const field = (text: string, key: string): number => Number(new RegExp(`^${key}:(\\S+)`, 'm').exec(text)?.[1] ?? Number.NaN)
    return { opsPerSecond: field(stats, 'instantaneous_ops_per_sec'), usedMemoryBytes: field(memory, 'used_memory') }
  }

  async close (): Promise<void> {
    for (const name of [...this.#pg.keys()]) this.#dropPg(name)
    for (const { client } of this.#redis.values()) client.disconnect()
    this.#redis.clear()
    await this.#agent.close()
  }
}

/** The value of a source, or undefined when it fails or takes longer than the budget; never throws. */
export async function withinBudget<T> (budgetMs: number, read: (signal: AbortSignal) => Promise<T>): Promise<T | undefined> {
  const controller = new AbortController()
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<undefined>((resolve) => { timer = setTimeout(() => { controller.abort(); resolve(undefined) }, budgetMs) })
  try {
    return await Promise.race([read(controller.signal).catch(() => undefined), late])
  } finally {
    clearTimeout(timer)
  }
}
