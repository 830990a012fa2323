import type { z } from 'zod'
import { dbConfigSchema } from '../config/process-config.js'
import { OutgrowError } from '../errors/index.js'
import { isPgConnectionError, isPgOverloadError, isReplicaRecoveryConflict } from '../runtime/connection-errors.js'
import { DependencyHealth, type DependencyState, type ReportsDependencies } from '../runtime/dependencies.js'
import { dbQueries } from '../runtime/metrics.js'
import { PRIMARY_ONLY_POSITION, type Db, type QueryResult, type ReadOptions, type Transaction, type WritePosition } from '../runtime/ports.js'
import { deferredOutbox } from '../outbox/outbox-writer.js'
import { dbTopology, leaderSourceFor } from './db-topology.js'
import type { LeaderSource } from './leader-source.js'
import { DEFAULT_FAILOVER_WINDOW_MS, failoverError, LeaderTerms, type LeaderTerm } from './leader-terms.js'
import { formatLsn, parseLsn } from './lsn.js'
import { TransactionOpening } from './transaction-opening.js'
import { ReadRouter, type ReadServer } from './read-router.js'
import { ReplicaTracker } from './replica-tracker.js'
import { pgPoolFactory, type PoolFactory, type SqlClient, type SqlPool } from './sql-pool.js'

/** The primary's WAL position and timeline in one round trip (the timeline is in the WAL file's name). */
const POSITION_SQL = `SELECT pg_current_wal_lsn()::text AS lsn,
  ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int AS timeline`

export interface PgDatabaseOptions {
  /** Who the primary is; by default the config's leader. Closed with the port. */
  readonly leaderSource?: LeaderSource
  /** Opens each server's pool; by default node-postgres with the config's limits. */
  readonly pools?: PoolFactory
  /** The clock of the failover window (ms). */
  readonly now?: () => number
  /** How long after a leader change its connection and read-only failures count as the failover's. */
  readonly failoverWindowMs?: number
}

/**
 * The db port on PostgreSQL: writes and transactions on the primary, reads spread over streaming
 * replicas, and read-your-writes by write position (LSN).
 *
 * The primary is the leader a `LeaderSource` names: fixed (the plain `primary` form, or a static
 * leader), or followed in the HA agents' store. When the leader changes, new work goes to the new
 * leader's pool at once; work in flight on the old one fails with a retryable OUTGROW_DB_FAILOVER
 * (503, Retry-After) the moment the change is heard, and so do connection and read-only failures
 * while there is no leader or shortly after a change. While there is no leader, writes fail at once.
 * Reads keep going to replicas throughout; a former leader serves reads again once it is in recovery.
 *
 * Positions stay valid across a promotion: LSNs keep growing across a timeline change (the new
 * timeline starts where the promoted replica's WAL ended), so a position acknowledged by the old
 * primary is still a lower bound on the new one and on its replicas. A replica on an older timeline
 * than the cluster's may have WAL the new primary never had at those positions, so it serves no
 * read-your-writes read (ReadRouter).
 *
 * While the primary is down outside a failover, writes fail at once with a retryable
 * OUTGROW_DB_UNAVAILABLE naming it, and reads go to a replica that has replayed what they must see.
 * Pools reconnect by themselves.
 */
export class PgDatabase implements Db, ReportsDependencies {
  readonly #members = new Map<string, SqlPool>()
  readonly #router: ReadRouter
  readonly #leader: LeaderSource
  readonly #terms: LeaderTerms
  readonly #unwatch: () => void
  readonly #primaryHealth: DependencyHealth

  /** Takes the process config's `db` section; timeouts left out get their defaults. */
  constructor (input: z.input<typeof dbConfigSchema>, options: PgDatabaseOptions = {}) {
    const config = dbConfigSchema.parse(input)
    const topology = dbTopology(config)
    this.#leader = options.leaderSource ?? leaderSourceFor(topology)
    this.#terms = new LeaderTerms(this.#leader.current(), {
      now: options.now ?? Date.now,
      windowMs: options.failoverWindowMs ?? DEFAULT_FAILOVER_WINDOW_MS,
      readOnlyMeansFailover: topology.membersServeReads,
    })
    this.#primaryHealth = new DependencyHealth('primary', async () => {
      const { pool } = this.#leaderNow()
      // A pool too busy to lend a connection in time is busy, not down.
      await pool.query('SELECT 1').catch((err: unknown) => { if (!isPgOverloadError(err)) throw err })
    })
    const open = options.pools ?? pgPoolFactory(config)
    const servers: ReadServer[] = []
    const trackerIntervals = { fastMs: config.replicaPollMs, idleMs: Math.max(config.replicaPollMs, config.replicaIdlePollMs) }
    for (const { name, url } of topology.members) {
      const pool = open(url)
      // An idle client of the leader died (e.g. the server was killed): the pool drops it; we learn the primary is down.
      pool.onIdleError((err) => { if (isPgConnectionError(err) && this.#terms.current.leader === name) this.#primaryHealth.markDown(err) })
      this.#members.set(name, pool)
      if (topology.membersServeReads) servers.push({ name, pool, tracker: new ReplicaTracker(pool, trackerIntervals), member: true })
    }
    topology.replicas.forEach((url, i) => {
      const pool = open(url)
      pool.onIdleError(() => { /* the tracker's next poll notices */ })
      servers.push({ name: `replica-${i + 1}`, pool, tracker: new ReplicaTracker(pool, trackerIntervals), member: false })
    })
    for (const server of servers) server.tracker.start()
    this.#router = new ReadRouter(servers)
    this.#unwatch = this.#leader.watch((leader) => { this.#adopt(leader) })
  }

  #adopt (leader: string | undefined): void {
    this.#terms.change(leader)
    if (leader === undefined) this.#primaryHealth.markDown(failoverError('no leader'))
    // Learn the new leader's state (and timeline) now rather than at the next poll. Never rejects.
    const server = this.#router.servers.find((s) => s.member && s.name === leader)
    if (server !== undefined) void server.tracker.poll()
  }

  async read<Row> (sql: string, params: readonly unknown[] = [], options: ReadOptions = {}): Promise<QueryResult<Row>> {
    const replica = options.primary === true ? undefined : this.#router.pick(options.after, this.#terms.current.leader, 'replica')
    if (replica !== undefined) {
      try {
        return await this.#readOnReplica<Row>(replica, sql, params)
      } catch (err) {
        // A replica that fails, or cancels the read to keep replaying, is skipped for this read;
        // the primary can answer. One that cannot be reached is asked again now, so the next reads
        // skip it without waiting for its tracker's idle poll.
        if (isPgConnectionError(err)) void replica.tracker.poll()
        else if (!isReplicaRecoveryConflict(err)) throw overloadAsUnavailable(err, 'database replica')
      }
    }
    try {
      const { term, pool } = this.#leaderNow()
      dbQueries.inc({ target: 'primary' })
      return await this.#onPrimary(term, async () => await pool.query<Row>(sql, params)) as QueryResult<Row>
    } catch (err) {
      if (options.primary === true || !primaryCannotAnswer(err)) throw err
      // No primary to ask: a replica that has replayed what this read must see still answers.
      let fallback = this.#router.pick(options.after, this.#terms.current.leader, 'primary_down', replica)
      if (fallback === undefined && options.after !== undefined) {
        // The trackers poll idle servers once a second: one may have replayed the write since. Ask
        // them now, once, before refusing (a poll never rejects; a failed one marks its server down).
        // Bounded: a server that does not answer must not hold the refusal up.
        let timer: NodeJS.Timeout | undefined
        const polled = Promise.all(this.#router.servers.filter((s) => s !== replica).map(async (s) => { await s.tracker.poll() }))
        await Promise.race([polled, new Promise<void>((resolve) => { timer = setTimeout(resolve, FALLBACK_POLL_MS) })]).finally(() => { clearTimeout(timer) })
        fallback = this.#router.pick(options.after, this.#terms.current.leader, 'primary_down', replica)
      }
      if (fallback === undefined) throw withoutReplica(err, options.after)
      return await this.#readOnReplica<Row>(fallback, sql, params).catch((replicaErr: unknown) => {
        throw isPgConnectionError(replicaErr) ? err : overloadAsUnavailable(replicaErr, 'database replica')
      })
    }
  }

  async write<Row> (sql: string, params: readonly unknown[] = []): Promise<QueryResult<Row> & { position: WritePosition }> {
    const { term, client, checkIn } = await this.#checkOut()
    let failure: unknown
    try {
      dbQueries.inc({ target: 'primary' }, 2)
      const result = await this.#onPrimary(term, async () => await client.query<Row>(sql, params))
      // The statement has committed (autocommit): from here on it must not be reported as failed.
      const position = await this.#positionAfterCommit(term, client).catch((err: unknown) => { failure = err; return PRIMARY_ONLY_POSITION })
      return { rows: result.rows, rowCount: result.rowCount ?? 0, position }
    } catch (err) {
      failure = err
      throw err
    } finally {
      // A client whose connection broke, or whose statement was abandoned, goes away instead of back into the pool.
      checkIn(isBroken(failure))
    }
  }

  /**
   * Round trips are what a transaction waits for on a busy server, so it takes no more than its
   * statements need: BEGIN goes with the first statement when that one has no parameters (the
   * simple query protocol takes several in one string), and outbox entries given one after another
   * go as one INSERT before the next statement or COMMIT.
   */
  async transaction<T> (fn: (tx: Transaction) => Promise<T>): Promise<{ value: T, position: WritePosition }> {
    const { term, client, checkIn } = await this.#checkOut()
    let broken = false
    const send = async <Row>(sql: string, params: readonly unknown[]): Promise<QueryResult<Row>> => {
      dbQueries.inc({ target: 'primary' })
      const result = await this.#onPrimary(term, async () => await client.query<Row>(sql, params))
      return { rows: result.rows, rowCount: result.rowCount ?? 0 }
    }
    const opening = new TransactionOpening()
    const run = async <Row>(sql: string, params: readonly unknown[]): Promise<QueryResult<Row>> => {
      const first = opening.claim()
      if (first === undefined) {
        // Every later statement waits for the first trip: until it is answered, nobody knows
        // whether BEGIN ran (a syntax error anywhere in the string runs none of it).
        await opening.settled()
        return await send<Row>(sql, params)
      }
      try {
        if (params.length === 0) return await send<Row>(`BEGIN; ${sql}`, params)
        await send('BEGIN', [])
        return await send<Row>(sql, params)
      } catch (err) {
        first.fail(err)
        throw err
      } finally {
        first.done()
      }
    }
    // The outbox writes through the transaction's own statements: its entries commit with the change.
    const { outbox, flush } = deferredOutbox({ query: run })
    const query = async <Row>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<Row>> => {
      await flush()
      return await run<Row>(sql, params)
    }
    const tx: Transaction = { query, outbox }
    try {
      const value = await fn(tx)
      await flush()
      opening.checkCommittable()
      // If the connection breaks during COMMIT the outcome is unknown; callers make retries
      // safe with idempotency keys. (The position is read in a trip of its own: sent with COMMIT,
      // its failure could not be told from COMMIT's, and a committed write would be reported failed.)
      if (opening.begun) await this.#commit(term, client)
      dbQueries.inc({ target: 'primary' })
      const position = await this.#positionAfterCommit(term, client).catch((err: unknown) => {
        broken = isBroken(err)
        return PRIMARY_ONLY_POSITION
      })
      return { value, position }
    } catch (err) {
      // A broken or abandoned connection is closed: the server rolls back. Anything else rolls back
      // here, bounded like any statement of the term.
      if (isBroken(err)) broken = true
      else if (opening.begun) await this.#terms.bound(term, client.query('ROLLBACK')).catch(() => { broken = true })
      throw err
    } finally {
      checkIn(broken)
    }
  }

  async #commit (term: LeaderTerm, client: SqlClient): Promise<void> {
    dbQueries.inc({ target: 'primary' })
    const committed = await this.#onPrimary(term, async () => await client.query('COMMIT'))
    // A statement failed and its error was caught: the server ended the transaction with a ROLLBACK.
    if (committed.command === 'ROLLBACK') {
      throw new OutgrowError('OUTGROW_INTERNAL', 'the transaction was rolled back at COMMIT: one of its statements had failed (its error was caught), so nothing was written')
    }
  }

  /** The current term and its leader's pool; OUTGROW_DB_FAILOVER at once when there is no leader to write to. */
  #leaderNow (): { term: LeaderTerm, pool: SqlPool } {
    const term = this.#terms.current
    if (term.leader === undefined) throw failoverError('no leader: a failover is under way')
    const pool = this.#members.get(term.leader)
    if (pool === undefined) throw failoverError(`the leader ${term.leader} is not one of db.members`, undefined, term.leader)
    return { term, pool }
  }

  /** A client of the leader for several statements, in the term it was lent in. */
  async #checkOut (): Promise<{ term: LeaderTerm, client: SqlClient, checkIn: (broken: boolean) => void }> {
    const { term, pool } = this.#leaderNow()
    const connecting = pool.connect()
    let client: SqlClient
    try {
      client = await this.#onPrimary(term, async () => await connecting)
    } catch (err) {
      // Abandoned because the leader changed: the client, if it still comes, goes away. Never rejects.
      void connecting.then((late) => { late.release(true) }, () => { /* failed: nothing to release */ })
      throw err
    }
    const off = client.onError((err) => { if (isPgConnectionError(err) && this.#terms.current === term) this.#primaryHealth.markDown(err) })
    return {
      term,
      client,
      checkIn: (broken) => {
        off()
        client.release(broken)
      },
    }
  }

  /**
   * The primary's WAL position after a commit. If it cannot be read, the caller still succeeds
   * (the write committed) with PRIMARY_ONLY_POSITION, so reads after it go to the primary.
   */
  async #positionAfterCommit (term: LeaderTerm, client: SqlClient): Promise<WritePosition> {
    return await this.#onPrimary(term, async () => {
      const row = (await client.query<{ lsn: string, timeline: number }>(POSITION_SQL)).rows[0] as { lsn: string, timeline: number }
      this.#router.noteWriteTimeline(row.timeline)
      return formatLsn(parseLsn(row.lsn))
    })
  }

  /**
   * Runs an operation on the leader of `term`, abandoned at once if the term ends. A failure a
   * failover explains becomes OUTGROW_DB_FAILOVER; a connection failure otherwise a 503 naming the primary.
   */
  async #onPrimary<T> (term: LeaderTerm, operation: () => Promise<T>): Promise<T> {
    try {
      const result = await this.#terms.bound(term, operation())
      this.#primaryHealth.markUp()
      return result
    } catch (err) {
      if (err instanceof OutgrowError) throw err
      const failover = this.#terms.explain(term, err)
      if (failover !== undefined) throw failover
      if (isPgConnectionError(err)) {
        this.#primaryHealth.markDown(err)
        throw new OutgrowError('OUTGROW_DB_UNAVAILABLE', 'database primary unavailable', { dependency: 'primary' }, { cause: err })
      }
      throw overloadAsUnavailable(err, 'database primary')
    }
  }

  async #readOnReplica<Row> (replica: ReadServer, sql: string, params: readonly unknown[]): Promise<QueryResult<Row>> {
    dbQueries.inc({ target: 'replica' })
    const result = await replica.pool.query<Row>(sql, params)
    return { rows: result.rows, rowCount: result.rowCount ?? 0 }
  }

  /** Whether the primary and each server that may serve reads now answer (cached briefly, see DependencyHealth). */
  async dependencyStates (): Promise<{ primary: DependencyState, replicas: DependencyState[] }> {
    const leader = this.#terms.current.leader
    return {
      primary: leader === undefined ? 'down' : await this.#primaryHealth.current(),
      replicas: this.#router.servers.filter((s) => !s.member || s.name !== leader).map((s) => s.tracker.healthy ? 'up' : 'down'),
    }
  }

  /** Resolves when the database can serve something: the primary or at least one replica answers. */
  async assertCanServe (): Promise<void> {
    const states = await this.dependencyStates()
    if (states.primary === 'up' || states.replicas.includes('up')) return
    throw new OutgrowError('OUTGROW_DB_UNAVAILABLE', 'neither the database primary nor any replica answers')
  }

  async close (): Promise<void> {
    this.#unwatch()
    this.#leader.close()
    for (const server of this.#router.servers) server.tracker.stop()
    const pools = [...this.#members.values(), ...this.#router.servers.filter((s) => !s.member).map((s) => s.pool)]
    await Promise.all(pools.map(async (pool) => { await pool.end() }))
  }
}

/** How long a read refused by the primary waits for the replicas to say what they have replayed. */
const FALLBACK_POLL_MS = 250

/** The connection is unusable (broken, or its statement abandoned to a failover). */
function isBroken (err: unknown): boolean {
  return err instanceof OutgrowError && (err.code === 'OUTGROW_DB_UNAVAILABLE' || err.code === 'OUTGROW_DB_FAILOVER')
}

/** The primary is down, or there is none to ask: replicas may answer instead. */
function primaryCannotAnswer (err: unknown): boolean {
  if (!(err instanceof OutgrowError)) return false
  return err.code === 'OUTGROW_DB_FAILOVER' || (err.code === 'OUTGROW_DB_UNAVAILABLE' && isPgConnectionError(err.cause))
}

/** The primary's refusal, extended by why no replica could stand in. */
function withoutReplica (err: unknown, after: WritePosition | undefined): OutgrowError {
  const why = after === undefined ? 'no replica answers' : 'no replica has replayed the write this read must see'
  const primary = err as OutgrowError
  if (primary.code === 'OUTGROW_DB_FAILOVER') return new OutgrowError('OUTGROW_DB_FAILOVER', `${primary.message}, and ${why}`, primary.details, { cause: primary.cause })
  return new OutgrowError('OUTGROW_DB_UNAVAILABLE', `database primary unavailable and ${why}`, undefined, { cause: err })
}

/** A pool without a free connection in time, or a statement over statement_timeout: retryable. */
function overloadAsUnavailable (err: unknown, part: string): unknown {
  if (!isPgOverloadError(err)) return err
  return new OutgrowError('OUTGROW_DB_UNAVAILABLE', `${part} did not answer in time`, undefined, { cause: err })
}
