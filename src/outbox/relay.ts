import { randomUUID } from 'node:crypto'
import { outboxBacklog, outboxDeliveries, outboxOldestAge } from '../runtime/metrics.js'
import type { Db, Jobs, Logger } from '../runtime/ports.js'
import type { Events } from '../events/bus.js'
import { deliveryOf, type OutboxRow } from './delivery.js'
import { NotifyListener } from './notify-listener.js'
import { OUTBOX_CHANNEL, OUTBOX_TABLE, ensureOutboxTables } from './outbox-table.js'
import { acquireLease, releaseLease, renewLease, settleDelivered } from './relay-lease.js'

export interface OutboxRelayOptions {
  readonly db: Db
  readonly jobs: Jobs
  readonly events: Events
  /**
   * Whether the jobs port keeps an accepted job when this process dies (a Redis queue: yes; the
   * in-process queue: no). If not, a job's entry stays until the job finished (see deleteFinishedJob).
   */
  readonly jobsDurable: boolean
  readonly log: Logger
  /** This relay's name in the lease (unique per process); a fresh one by default. */
  readonly owner?: string
  /** The primary's URL, for LISTEN; without it the relay only polls. */
  readonly primaryUrl?: () => string | undefined
  /** Entries read and handed on per round (default 100). */
  readonly batchSize?: number
  /** How often an idle relay looks without a notification, and a standby tries the lease (default 1000 ms). */
  readonly pollMs?: number
  /** How long the lease holds without renewal: a killed relay's successor starts after at most this (default 5000 ms). */
  readonly leaseMs?: number
}

const REPORT_EVERY_MS = 1000

/**
 * The outbox relay: hands committed outbox entries to the jobs port and the event bus, in entry
 * order (events of one key strictly in order), then deletes them. At least once: an entry is
 * deleted only after the queue or bus accepted it, so a relay killed at any point leaves it to be
 * handed on again — under the same job id or event id, so the queue drops the duplicate and
 * consumers recognize it. Many processes run one; the lease (relay-lease.ts) lets one deliver.
 * It wakes on the primary's notification of a commit, and polls in case one was missed.
 */
export class OutboxRelay {
  readonly #o: Required<Omit<OutboxRelayOptions, 'primaryUrl'>>
  readonly #listener: NotifyListener | undefined
  #term: number | undefined
  #renewedAt = 0
  #reportedAt = 0
  #closed = false
  #running: Promise<void> | undefined
  #wake: (() => void) | undefined
  #woken = false

  constructor (options: OutboxRelayOptions) {
    this.#o = { batchSize: 100, pollMs: 1000, leaseMs: 5000, owner: `relay-${randomUUID()}`, ...options }
    const primaryUrl = options.primaryUrl
    this.#listener = primaryUrl === undefined
      ? undefined
      : new NotifyListener({ channel: OUTBOX_CHANNEL, primaryUrl, onNotify: () => { this.wake() }, log: options.log })
  }

  /** Whether this relay holds the lease now. */
  get active (): boolean { return this.#term !== undefined }

  start (): void {
    this.#listener?.start()
    this.#running ??= this.#loop()
  }

  /** Look at the outbox now (a commit wrote to it). */
  wake (): void {
    this.#woken = true
    // A standby has nothing to do with it: it waits for the lease.
    if (this.#term !== undefined) this.#wake?.()
  }

  async #loop (): Promise<void> {
    let pause = 100
    let tablesReady = false
    while (!this.#closed) {
      try {
        if (!tablesReady) {
          await ensureOutboxTables(this.#o.db)
          tablesReady = true
        }
        this.#listener?.follow()
        const term = await this.#own()
        if (term === undefined) {
          await this.#pause(this.#o.pollMs)
          continue
        }
        this.#woken = false
        const rows = await this.#next(term)
        // Before handing on, so a backlog that cannot be delivered (the queue is down) still shows.
        if (rows.length === 0 || Date.now() - this.#reportedAt >= REPORT_EVERY_MS) await this.#report()
        if (rows.length > 0) await this.#deliver(term, rows)
        if (rows.length < this.#o.batchSize && !this.#woken) await this.#pause(this.#o.pollMs)
        pause = 100
      } catch (err) {
        this.#o.log.warn({ err }, 'outbox relay: round failed; retried')
        await this.#pause(pause)
        pause = Math.min(pause * 2, 5000)
      }
    }
  }

  /** Keeps or takes the lease; the term, or undefined while another relay holds it. */
  async #own (): Promise<number | undefined> {
    const { db, owner, leaseMs } = this.#o
    if (this.#term !== undefined) {
      if (Date.now() - this.#renewedAt < leaseMs / 3) return this.#term
      if (await renewLease(db, owner, this.#term, leaseMs)) {
        this.#renewedAt = Date.now()
        return this.#term
      }
      this.#lose()
    }
    const started = Date.now()
    const term = await acquireLease(db, owner, leaseMs)
    if (term === undefined) return undefined
    this.#term = term
    this.#renewedAt = started
    return term
  }

  #lose (): void {
    this.#term = undefined
    outboxBacklog.set(0)
    outboxOldestAge.set(0)
  }

  /** The next entries in order: every one not yet handed on (in this term, for jobs a process keeps in memory). */
  async #next (term: number): Promise<OutboxRow[]> {
    const { rows } = await this.#o.db.write<OutboxRow>(
      `SELECT id::text, kind, name, payload, options FROM ${OUTBOX_TABLE}
        WHERE dispatched_term IS NULL OR dispatched_term < $1 ORDER BY id LIMIT $2`, [term, this.#o.batchSize])
    return rows
  }

  /**
   * Hands a batch on: jobs at once, events of one key one after another (other keys meanwhile).
   * A failure stops its key there, so nothing of that key overtakes it; what was accepted is
   * marked, the rest is tried again next round.
   */
  async #deliver (term: number, rows: readonly OutboxRow[]): Promise<void> {
    const lanes = new Map<string, OutboxRow[]>()
    for (const row of rows) {
      const key = row.kind === 'event' && typeof row.options.key === 'string' ? `key:${row.options.key}` : `entry:${row.id}`
      const lane = lanes.get(key)
      if (lane === undefined) lanes.set(key, [row])
      else lane.push(row)
    }
    const done: OutboxRow[] = []
    let failure: unknown
    await Promise.all([...lanes.values()].map(async (lane) => {
      for (const row of lane) {
        try {
          await this.#handOn(row)
          outboxDeliveries.inc({ kind: row.kind, outcome: 'delivered' })
          done.push(row)
        } catch (err) {
          outboxDeliveries.inc({ kind: row.kind, outcome: 'failed' })
          failure ??= err
          return
        }
      }
    }))
    const kept = this.#o.jobsDurable ? [] : done.filter((row) => row.kind === 'job').map((row) => row.id)
    const finished = done.filter((row) => this.#o.jobsDurable || row.kind === 'event').map((row) => row.id)
    const marked = await settleDelivered(this.#o.db, term, finished, kept)
    if (!marked) {
      this.#o.log.warn({ term }, 'outbox relay: another relay took the lease over; standing by')
      this.#lose()
    }
    if (failure !== undefined) throw failure as Error
  }

  async #handOn (row: OutboxRow): Promise<void> {
    const delivery = deliveryOf(row)
    if (delivery.kind === 'job') await this.#o.jobs.enqueue(delivery.name, delivery.payload, delivery.options)
    else await this.#o.events.publish(delivery.topic, delivery.data, delivery.options)
  }

  async #report (): Promise<void> {
    this.#reportedAt = Date.now()
    const { rows } = await this.#o.db.write<{ backlog: number, age: number | null }>(
      `SELECT count(*)::int AS backlog, extract(epoch FROM now() - min(created_at))::float8 AS age FROM ${OUTBOX_TABLE}`)
    if (this.#term === undefined) return
    outboxBacklog.set(rows[0]?.backlog ?? 0)
    outboxOldestAge.set(Math.max(0, rows[0]?.age ?? 0))
  }

  /** Waits `ms`, or less: until a notification (while active) or close. */
  async #pause (ms: number): Promise<void> {
    if (this.#closed) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms)
      this.#wake = () => { clearTimeout(timer); resolve() }
    })
    this.#wake = undefined
  }

  /** Stops after the round under way, and gives the lease up so another relay takes over at once. */
  async close (): Promise<void> {
    this.#closed = true
    this.#wake?.()
    await this.#running
    await this.#listener?.close()
    const term = this.#term
    this.#lose()
    if (term !== undefined) await releaseLease(this.#o.db, this.#o.owner, term).catch(() => {})
  }
}
