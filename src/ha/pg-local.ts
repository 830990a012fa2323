/**
 * LocalPostgres on a real PostgreSQL server (the agent's only way to touch it). Reads are one query
 * on a fresh connection (pg-status.ts); the read-only switch belongs to the fence keeper, a
 * separate process that also enforces the writable deadline (fence-keeper-main.ts); restarts go
 * through PgNode, which fences every start on disk.
 *
 *   promote        read-only on (ALTER SYSTEM), then pg_promote(): the new primary stays fenced
 *   follow(l)      slot on l; primary_conninfo + primary_slot_name by ALTER SYSTEM and reload (a
 *                  running replica), or stop, write them and standby.signal, start (a primary)
 *   rewind(l)      stop cleanly (a crashed server is started first), pg_rewind from l, as follow
 *   setSyncStandbys  synchronous_standby_names = ANY 1 (…), reload
 */
import { OutgrowError } from '../errors/index.js'
import { replicationSlotName } from '../supervisor/engines/postgres.js'
import type { Lsn } from './dcs/port.js'
import type { FenceKeeper } from './fence-keeper.js'
import type { LocalPostgres, PostgresStatus } from './local.js'
import { parseLsn } from './lsn.js'
import { hasStandbySignal, setAutoConf, writeStandbySignal } from './pg-files.js'
import type { PgNode } from './pg-node.js'
import { alterSystem, applyFence, KeptConnection, withConnection } from './pg-sql.js'
import {
  conninfoFor, diverged, followedPeer, identifyTimeline, parseHistory, parseSyncStandbyNames, readStatus, readTimelineHistory, syncStandbyNames, type Peer,
} from './pg-status.js'

/** Kept free at the end of a status read's time-out, and the least time worth giving a further question. */
const SPARE_MS = 100
const MIN_QUESTION_MS = 100

export interface PgLocalOptions {
  /** This member's name: its application_name on the leader and (as a slot name) its slot. */
  readonly name: string
  readonly node: PgNode
  readonly keeper: FenceKeeper
  /** Every member's PostgreSQL address, this one's included. */
  readonly peers: Readonly<Record<string, Peer>>
  /** Longest wait for one SQL request (ms). */
  readonly requestTimeoutMs?: number
  /** No standby named: commits wait (strict, default) or are acknowledged on the primary alone. */
  readonly strictSync?: boolean
}

export class PgLocalPostgres implements LocalPostgres {
  readonly #o: PgLocalOptions
  readonly #timeoutMs: number
  #lastRole: 'primary' | 'replica'
  #lastLsn: Lsn = 0
  #lastTimeline = 0
  #syncChangedAtLsn: Lsn = 0
  #timelineStart: { timeline: number, lsn: Lsn } = { timeline: 1, lsn: 0 }
  readonly #statusConnection: KeptConnection
  readonly #walsenderConnection: KeptConnection

  constructor (options: PgLocalOptions) {
    this.#o = options
    this.#timeoutMs = options.requestTimeoutMs ?? 1000
    this.#lastRole = hasStandbySignal(options.node.dataDir) ? 'replica' : 'primary'
    this.#statusConnection = new KeptConnection(options.node.server.adminUrl)
    this.#walsenderConnection = new KeptConnection(options.node.server.adminUrl, { replication: true })
  }

  get #url (): string { return this.#o.node.server.adminUrl }
  get #slot (): string { return replicationSlotName(this.#o.name) }

  async status (): Promise<PostgresStatus> {
    if (!this.#o.node.running) {
      this.close()
      return this.#stopped()
    }
    // The agent gives the whole read retryTimeoutMs (= this time-out): the extra questions get what
    // the main query left, so a follower of a blackholed peer still answers in time, undecided.
    const deadline = Date.now() + this.#timeoutMs - SPARE_MS
    const budget = (): number => deadline - Date.now()
    let raw
    try {
      raw = await this.#statusConnection.run(this.#timeoutMs, readStatus)
    } catch {
      // The postmaster runs: a slow answer is not a dead server (decide.ts waits for the lease instead).
      return { ...this.#stopped(), unresponsive: this.#o.node.running }
    }
    if (raw.recovery && budget() >= MIN_QUESTION_MS) {
      const replaying = await this.#walsenderConnection.run(budget(), identifyTimeline).catch(() => 0)
      raw = { ...raw, timeline: Math.max(raw.timeline, replaying) }
    }
    this.#lastRole = raw.recovery ? 'replica' : 'primary'
    this.#lastLsn = raw.lsn
    this.#lastTimeline = raw.timeline
    const following = raw.recovery ? followedPeer(raw, this.#o.name, this.#slot, this.#o.peers) : null
    const primary = !raw.recovery
    return {
      running: true,
      role: this.#lastRole,
      writable: primary && !raw.readOnly,
      lsn: raw.lsn,
      timeline: raw.timeline,
      following,
      diverged: raw.recovery && following !== null && !raw.streaming && budget() >= MIN_QUESTION_MS && await this.#divergedFrom(following, raw.timeline, raw.lsn, budget()),
      syncStandbys: primary ? parseSyncStandbyNames(raw.syncNames) : [],
      syncOff: primary && raw.syncNames.trim() === '',
      syncChangedAtLsn: this.#syncChangedAtLsn,
      timelineStartLsn: primary ? await this.#timelineStartLsn(raw.timeline) : 0,
    }
  }

  async promote (): Promise<void> {
    await withConnection(this.#url, 30_000, async (client) => {
      // Commits wait for a standby until the leader names one: a replica's own setting may be empty.
      await alterSystem(client, { default_transaction_read_only: 'on', synchronous_standby_names: syncStandbyNames([]) })
      await client.query('SELECT pg_promote(wait => true, wait_seconds => 25)')
      const { rows } = await client.query<{ recovery: boolean }>('SELECT pg_is_in_recovery() AS recovery')
      if (rows[0]?.recovery !== false) throw new Error('pg_promote did not finish in 25 s')
    })
    this.#syncChangedAtLsn = 0
  }

  async fence (): Promise<void> {
    try {
      await this.#o.keeper.fence()
    } catch (err) {
      // No keeper, or it could not reach PostgreSQL: fence directly, and fail if that fails too.
      if (!this.#o.node.running) return
      await applyFence(this.#url, this.#timeoutMs).catch(() => { throw err })
    }
  }

  async unfence (until: number): Promise<void> {
    if (!await this.#o.keeper.unfence(until)) throw new Error('unfence refused: the writable deadline has passed')
  }

  async keepWritable (until: number): Promise<void> {
    await this.#o.keeper.extend(until)
  }

  async follow (leader: string): Promise<void> {
    await this.#createSlotOn(leader)
    const settings = this.#replicaSettings(leader)
    const status = this.#o.node.running ? await this.status() : null
    if (status?.running === true && status.role === 'replica') {
      await withConnection(this.#url, this.#timeoutMs, async (client) => { await alterSystem(client, settings) })
      return
    }
    await this.#fenceBeforeStop()
    await this.#o.node.stop()
    await this.#becomeStandby(settings)
  }

  async rewind (leader: string): Promise<void> {
    await this.#createSlotOn(leader)
    await this.#fenceBeforeStop()
    // pg_rewind needs a cleanly shut down target: a crashed one recovers (fenced on disk) first.
    if (!this.#o.node.running) await this.#o.node.start()
    await this.#o.node.stop()
    // pg_rewind reads the source's timeline from its control file, which a just-promoted leader
    // updates only at its next checkpoint (Patroni waits for the same): ask for it now.
    const peer = this.#peer(leader)
    await withConnection(`postgres://postgres@${peer.host}:${peer.port}/postgres`, 30_000, async (client) => { await client.query('CHECKPOINT') })
    await this.#o.node.server.rewindFrom(peer.port)
    await this.#becomeStandby(this.#replicaSettings(leader))
  }

  async start (): Promise<void> {
    if (!this.#o.node.running) await this.#o.node.start()
  }

  async setSyncStandbys (names: readonly string[]): Promise<void> {
    await withConnection(this.#url, this.#timeoutMs, async (client) => {
      await alterSystem(client, { synchronous_standby_names: syncStandbyNames(names, this.#o.strictSync ?? true) })
      const { rows } = await client.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')
      this.#syncChangedAtLsn = parseLsn(rows[0]?.lsn) ?? 0
    })
  }

  /** Closes the connections kept open for status reads (a later read opens them again). */
  close (): void {
    this.#statusConnection.close()
    this.#walsenderConnection.close()
  }

  #stopped (): PostgresStatus {
    return {
      running: false, role: this.#lastRole, writable: false, lsn: this.#lastLsn, timeline: this.#lastTimeline, following: null,
      diverged: false, syncStandbys: [], syncChangedAtLsn: this.#syncChangedAtLsn, timelineStartLsn: 0,
    }
  }

  #peer (name: string): Peer {
    const peer = this.#o.peers[name]
    if (peer === undefined) throw new OutgrowError('OUTGROW_CONFIG_INVALID', `no PostgreSQL address for member ${name}`)
    return peer
  }

  #replicaSettings (leader: string): Record<string, string> {
    return {
      primary_conninfo: conninfoFor(this.#peer(leader), this.#o.name),
      primary_slot_name: this.#slot,
      default_transaction_read_only: 'on',
      recovery_target_timeline: 'latest',
    }
  }

  async #becomeStandby (settings: Record<string, string>): Promise<void> {
    const { dataDir, server } = this.#o.node
    await setAutoConf(dataDir, settings, server.runAs)
    await writeStandbySignal(dataDir, server.runAs)
    this.#lastRole = 'replica'
    await this.#o.node.start()
  }

  async #fenceBeforeStop (): Promise<void> {
    if (this.#o.node.running) await this.fence().catch(() => {})
  }

  async #createSlotOn (leader: string): Promise<void> {
    const peer = this.#peer(leader)
    await withConnection(`postgres://postgres@${peer.host}:${peer.port}/postgres`, this.#timeoutMs, async (client) => {
      await client.query(`SELECT pg_create_physical_replication_slot($1)
        WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1)`, [this.#slot])
    })
  }

  async #divergedFrom (leader: string, timeline: number, lsn: Lsn, timeoutMs: number): Promise<boolean> {
    const peer = this.#peer(leader)
    try {
      const history = await withConnection(`postgres://postgres@${peer.host}:${peer.port}/postgres`, timeoutMs, readTimelineHistory)
      return diverged({ timeline, lsn }, history)
    } catch {
      return false // the leader cannot be asked now: nothing is known
    }
  }

  /** Where this primary's timeline began: the last switch point in its history file (0 on timeline 1). */
  async #timelineStartLsn (timeline: number): Promise<Lsn> {
    if (timeline === this.#timelineStart.timeline) return this.#timelineStart.lsn
    const { history } = await withConnection(this.#url, this.#timeoutMs, readTimelineHistory)
    const start = Math.max(0, ...parseHistory(history).values())
    this.#timelineStart = { timeline, lsn: start }
    return start
  }
}
