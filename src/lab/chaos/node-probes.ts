import pg from 'pg'
import { request } from 'undici'
import { createRedisClient } from '../../runtime/redis-client.js'

/**
 * Questions put to the stack's nodes directly, never through Outgrow's own routing: is this
 * PostgreSQL a writable primary, is this Redis the master, is this etcd member the leader.
 * Each answer is bounded in time; a node that does not answer in time is `undefined`.
 */

const WRITABLE_SQL = `SELECT pg_is_in_recovery() AS recovery,
  current_setting('default_transaction_read_only') AS default_ro,
  current_setting('transaction_read_only') AS ro`

/** Writable: not in recovery, and neither the server's default nor this transaction read-only (a fenced primary is read-only). */
export function isWritable (row: { recovery: boolean, default_ro: string, ro: string }): boolean {
  return !row.recovery && row.default_ro !== 'on' && row.ro !== 'on'
}

/**
 * One kept connection to one PostgreSQL node. A probe that does not answer in time drops the
 * connection (a frozen server never answers on it) and the next probe connects afresh.
 */
export class PgProbe {
  readonly url: string
  readonly #timeoutMs: number
  #client: pg.Client | undefined
  #connecting: Promise<pg.Client> | undefined

  constructor (url: string, timeoutMs: number) {
    this.url = url
    this.#timeoutMs = timeoutMs
  }

  async #connection (): Promise<pg.Client> {
    if (this.#client !== undefined) return this.#client
    this.#connecting ??= (async () => {
      const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: this.#timeoutMs, application_name: 'outgrow-chaos-probe' })
      client.on('error', () => { this.#drop(client) })
      try {
        await client.connect()
      } catch (err) {
        this.#drop(client)
        throw err
      }
      this.#client = client
      return client
    })().finally(() => { this.#connecting = undefined })
    return await this.#connecting
  }

  #drop (client: pg.Client): void {
    if (this.#client === client) this.#client = undefined
    // end() would wait for a server that may be stopped: the socket is destroyed instead.
    ;(client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy()
  }

  /** Runs sql with a deadline; rejects on error or time-out (and drops the connection). */
  async query<R extends pg.QueryResultRow> (sql: string, params: unknown[] = [], timeoutMs = this.#timeoutMs): Promise<R[]> {
    let timer: NodeJS.Timeout | undefined
    let client: pg.Client | undefined
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        if (client !== undefined) this.#drop(client)
        reject(new Error(`no answer in ${timeoutMs} ms`))
      }, timeoutMs)
    })
    try {
      return await Promise.race([(async () => {
        client = await this.#connection()
        return (await client.query<R>(sql, params)).rows
      })(), timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  /** true: a writable primary; false: a standby or a fenced (read-only) primary; undefined: no answer. */
  async writable (): Promise<boolean | undefined> {
    try {
      const rows = await this.query<{ recovery: boolean, default_ro: string, ro: string }>(WRITABLE_SQL)
      return rows[0] === undefined ? undefined : isWritable(rows[0])
    } catch {
      return undefined
    }
  }

  close (): void {
    if (this.#client !== undefined) this.#drop(this.#client)
  }
}

/** The first word of Redis' ROLE: `master`, `slave` or `sentinel`; undefined when it does not answer. */
export async function redisRole (url: string, timeoutMs = 1000): Promise<string | undefined> {
  const redis = createRedisClient(url, { purpose: 'probe', overrides: { connectTimeout: timeoutMs, commandTimeout: timeoutMs } })
  try {
    await redis.connect()
    const role = await redis.call('ROLE') as unknown[]
    return typeof role[0] === 'string' ? role[0] : undefined
  } catch {
    return undefined
  } finally {
    redis.disconnect()
  }
}

/** Whether the etcd member at url (its client URL) is the leader; undefined when it does not answer. */
export async function etcdIsLeader (url: string, timeoutMs = 1000): Promise<boolean | undefined> {
  try {
    const res = await request(new URL('/v3/maintenance/status', url), {
      method: 'POST', body: '{}', headers: { 'content-type': 'application/json' }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs,
    })
    const status = await res.body.json() as { header?: { member_id?: string }, leader?: string }
    if (res.statusCode !== 200 || status.header?.member_id === undefined) return undefined
    return status.header.member_id === status.leader
  } catch {
    return undefined
  }
}
