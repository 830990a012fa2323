import pg from 'pg'
import { LogicalReplicationService, PgoutputPlugin, type Pgoutput } from 'pg-logical-replication'
import type { ChangeStreamCache } from '../cache/full-flush.js'
import { OutgrowError } from '../errors/index.js'
import type { Logger } from '../runtime/ports.js'
import { changeFeedActive, changeFeedDelay, changeFeedFullFlushes, changeFeedInvalidations, changeFeedLagBytes, changeFeedLagSeconds, changeFeedRestarts, changeFeedRows } from './change-feed-metrics.js'
import { applyRule, type RowChange, type TableRule } from './change-rules.js'
import {
  assertLogicalPrimary, createSlot, dropSlot, flushOwed, prepareFlushMarker, preparePublication, prepareReplicaIdentity, setFlushOwed, slotLagBytes, slotPredates, slotState, timelineStart,
} from './change-slot.js'
import { formatLsn, parseLsn } from './lsn.js'
import { PendingInvalidations } from './pending-invalidations.js'

export interface ChangeFeedOptions {
  /** The logical replication slot; it is also the election: PostgreSQL lets one consumer stream from it. */
  readonly slot: string
  readonly publication: string
  readonly tables: readonly TableRule[]
  readonly cache: ChangeStreamCache
  /** The primary's URL now (asked before every try); undefined while there is none. */
  readonly primaryUrl: () => string | undefined
  readonly log: Logger
  /** Back-off between tries: doubling from minMs to maxMs (also how soon a waiting consumer takes a dead one's place). */
  readonly retry?: { readonly minMs: number, readonly maxMs: number }
  /** More keys and tags than this waiting at once become one full flush. */
  readonly maxNames?: number
  /** How often the active consumer reads the slot's lag in bytes. */
  readonly lagPollMs?: number
  /**
   * An invalidation the cache has not confirmed within this long fails: the stream ends and the
   * change is sent again. Bounded because a primary that shuts down (a switchover) waits for its
   * logical walsenders' confirmations, so a stuck cache must not hold up the database.
   */
  readonly applyTimeoutMs?: number
}

const later = (a: string, b: string): string => parseLsn(a) >= parseLsn(b) ? a : b
const SLOT_IN_USE = '55006'

/**
 * Confirms exactly `lsn`. The library reports its argument + 1 (the "last byte + 1" of physical
 * replication); a shutting-down primary waits until a logical walsender's confirmed position equals
 * what it sent, so reporting one byte more would hold its shutdown (and a switchover) forever.
 */
async function confirm (service: LogicalReplicationService, lsn: string): Promise<void> {
  const n = parseLsn(lsn)
  await service.acknowledge(n === 0n ? lsn : formatLsn(n - 1n))
}

/**
 * Cache invalidation from PostgreSQL's change stream (Facebook's mcsqueal): row changes of the
 * service's `invalidateOn` tables, decoded by pgoutput from a logical slot, become invalidations
 * of the cache, so a change made by any path — another service, psql — reaches every instance.
 *
 * At least once: a transaction's position is confirmed to the slot only after the cache confirmed
 * its invalidations, so a consumer that dies in between leaves them to be sent again. Between
 * transactions, the server's keepalive positions are confirmed too, so the slot never holds WAL
 * for tables it does not publish.
 *
 * One consumer per slot: every instance that runs the feed tries to stream, PostgreSQL admits one,
 * and the others try again with back-off. A slot that had to be made (first start, or a new
 * primary after a failover: PostgreSQL 15 does not carry logical slots to a standby) cannot say
 * what changed before it, so every cache entry is flushed first (change-slot.ts keeps that debt).
 */
export class ChangeFeed {
  readonly #options: ChangeFeedOptions
  readonly #byRelation: Map<string, TableRule>
  #closed = false
  #running: Promise<void> | undefined
  #service: LogicalReplicationService | undefined
  #wake: (() => void) | undefined
  #active = false

  constructor (options: ChangeFeedOptions) {
    this.#options = options
    this.#byRelation = new Map(options.tables.map((t) => [`${t.schema}.${t.name}`, t]))
  }

  /** Whether this consumer holds the slot and streams. */
  get active (): boolean { return this.#active }

  start (): void {
    this.#running ??= this.#loop()
  }

  /**
   * Stops at once and confirms nothing more: what was received but not confirmed is sent again
   * to whichever consumer streams next (as after a crash).
   */
  async close (): Promise<void> {
    this.#closed = true
    this.#wake?.()
    await this.#service?.stop().catch(() => {})
    await this.#running
  }

  async #loop (): Promise<void> {
    const { minMs, maxMs } = this.#options.retry ?? { minMs: 500, maxMs: 5000 }
    let failures = 0
    while (!this.#closed) {
      let reason = 'ended'
      let streamed = false
      try {
        streamed = await this.#session()
      } catch (err) {
        const e = err as { code?: string, message?: string }
        reason = e.code === SLOT_IN_USE ? 'slot_busy' : e.code === 'OUTGROW_CHANGE_FEED_UNAVAILABLE' ? 'unavailable' : 'error'
        if (reason !== 'slot_busy' && !this.#closed) this.#options.log.warn({ err, slot: this.#options.slot }, `change feed: ${e.message ?? String(err)}; trying again`)
      }
      if (this.#closed) break
      changeFeedRestarts.inc({ reason })
      failures = streamed ? 0 : failures + 1
      await this.#sleep(Math.min(minMs * 2 ** Math.max(0, failures - 1), maxMs))
    }
  }

  async #sleep (ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms)
      this.#wake = () => { clearTimeout(timer); resolve() }
    })
    this.#wake = undefined
  }

  /** One try: prepare the primary, pay a flush owed, stream until the stream ends. True if it streamed. */
  async #session (): Promise<boolean> {
    const { slot, publication, tables, log } = this.#options
    const url = this.#options.primaryUrl()
    if (url === undefined) throw new OutgrowError('OUTGROW_CHANGE_FEED_UNAVAILABLE', 'no primary (a failover is under way)')
    const admin = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 })
    admin.on('error', () => { /* a dropped connection fails the next query */ })
    await admin.connect()
    try {
      await assertLogicalPrimary(admin)
      let state = await slotState(admin, slot)
      if (state.active) throw Object.assign(new Error(`replication slot ${slot} is in use by another consumer`), { code: SLOT_IN_USE })
      await prepareReplicaIdentity(admin, tables, log)
      await preparePublication(admin, publication, tables)
      await prepareFlushMarker(admin)
      const stale = state.exists && !state.lost && slotPredates(state.confirmed, await timelineStart(url))
      if (state.lost || stale) {
        // Lost: no consumer kept up and max_slot_wal_keep_size removed WAL it needed. Stale: it
        // survived a demotion and missed the other primary's writes. Either way, start over.
        log.warn({ slot, confirmed: state.confirmed }, state.lost ? 'change feed: the slot lost WAL it needed; it is dropped and made again' : 'change feed: the slot predates this primary\'s promotion; it is dropped and made again')
        await dropSlot(admin, slot)
        state = await slotState(admin, slot)
      }
      if (!state.exists) {
        // The debt first: a consumer that dies after making the slot leaves the flush to the next.
        await setFlushOwed(admin, slot, true)
        if (await createSlot(admin, slot)) log.warn({ slot }, 'change feed: replication slot created (first start, or a new primary after a failover)')
      }
      if (await flushOwed(admin, slot)) {
        await this.#options.cache.flushAll()
        changeFeedFullFlushes.inc({ reason: 'slot_created' })
        log.warn({ slot }, 'change feed: changes before the slot was made are unknown: every cache entry was flushed')
        await setFlushOwed(admin, slot, false)
      }
      if (this.#closed) return false
      return await this.#stream(url, admin, (await slotState(admin, slot)).confirmed ?? '0/0')
    } finally {
      await admin.end().catch(() => {})
    }
  }

  async #stream (url: string, admin: pg.Client, startAt: string): Promise<boolean> {
    const { slot, publication, log } = this.#options
    const maxNames = this.#options.maxNames ?? 10_000
    const service = new LogicalReplicationService({ connectionString: url, connectionTimeoutMillis: 5000 }, { acknowledge: { auto: false, timeoutSeconds: 0 } })
    this.#service = service
    const open = new PendingInvalidations(maxNames)
    const committed = new PendingInvalidations(maxNames)
    let confirmed = startAt
    // The greatest position that may be confirmed once everything received is applied.
    let confirmable = startAt
    let inTransaction = false
    // Commit times (µs since the epoch) of the oldest transaction waiting, and of the batch being applied.
    let waitingSince: bigint | undefined
    let applyingSince: bigint | undefined
    let applying = false
    let failed: Error | undefined
    let started = false

    const apply = async (): Promise<void> => {
      if (applying || failed !== undefined) return
      applying = true
      try {
        while (parseLsn(confirmable) > parseLsn(confirmed) && failed === undefined) {
          const target = confirmable
          const batch = committed.take()
          applyingSince = waitingSince
          waitingSince = undefined
          if (!batch.empty) await this.#apply(batch)
          if (applyingSince !== undefined) changeFeedDelay.observe(Math.max(0, Date.now() / 1000 - Number(applyingSince) / 1e6))
          applyingSince = undefined
          confirmed = target
          await confirm(service, target)
        }
      } catch (err) {
        failed = err instanceof Error ? err : new Error(String(err))
        log.warn({ err, slot }, 'change feed: invalidation not confirmed; the stream restarts and the change is sent again')
        await service.stop().catch(() => {})
      } finally {
        applying = false
      }
    }

    service.on('data', (lsn: string, message: Pgoutput.Message) => {
      switch (message.tag) {
        case 'begin': inTransaction = true; break
        case 'insert': this.#row(open, message.relation, 'insert', message.new); break
        case 'update': this.#row(open, message.relation, 'update', message.new, message.old ?? message.key ?? undefined); break
        case 'delete': this.#row(open, message.relation, 'delete', message.old ?? message.key ?? {}); break
        case 'truncate':
          if (message.relations.some((r) => this.#byRelation.has(`${r.schema}.${r.name}`))) open.flushAll('truncate')
          break
        case 'commit':
          inTransaction = false
          committed.merge(open.take())
          confirmable = later(confirmable, message.commitEndLsn ?? lsn)
          waitingSince ??= message.commitTime as bigint
          void apply()
          break
        default: break
      }
    })
    service.on('heartbeat', (lsn: string, _timestamp: number, shouldRespond: boolean) => {
      if (shouldRespond) void confirm(service, confirmed)
      // Between transactions everything before this position has been received: confirmable.
      if (!inTransaction) {
        confirmable = later(confirmable, lsn)
        void apply()
      }
    })
    service.on('error', () => { /* the subscription's promise settles with the cause */ })
    service.on('start', () => {
      started = true
      this.#active = true
      changeFeedActive.set(1)
      changeFeedRestarts.inc({ reason: 'started' })
      log.info({ slot, from: startAt }, 'change feed: streaming')
    })
    const lag = setInterval(() => {
      const since = applyingSince ?? waitingSince
      changeFeedLagSeconds.set(since === undefined ? 0 : Math.max(0, Date.now() / 1000 - Number(since) / 1e6))
      slotLagBytes(admin, slot).then((bytes) => { if (bytes !== undefined) changeFeedLagBytes.set(bytes) }, () => {})
    }, this.#options.lagPollMs ?? 5000).unref()
    try {
      await service.subscribe(new PgoutputPlugin({ protoVersion: 1, publicationNames: [publication] }), slot)
    } finally {
      clearInterval(lag)
      this.#active = false
      changeFeedActive.set(0)
      this.#service = undefined
      await service.destroy().catch(() => {})
    }
    if (failed !== undefined) throw failed
    return started
  }

  /** Maps one row image through its table's rule into the open transaction's invalidations. */
  #row (open: PendingInvalidations, relation: Pgoutput.MessageRelation, op: RowChange['op'], row: Record<string, unknown>, old?: Record<string, unknown>): void {
    const table = this.#byRelation.get(`${relation.schema}.${relation.name}`)
    if (table === undefined) return
    changeFeedRows.inc({ table: table.table, op })
    try {
      const { keys, tags } = applyRule(table, { table: table.table, op, row, old })
      open.add(keys, tags)
    } catch (err) {
      // Skipping the row could leave a stale entry, and retrying would fail again: flush instead.
      this.#options.log.error({ err, table: table.table }, 'change feed: invalidation rule failed; every cache entry is flushed instead')
      open.flushAll('rule_failed')
    }
  }

  async #withinTimeout (work: Promise<void>): Promise<void> {
    const ms = this.#options.applyTimeoutMs ?? 10_000
    let timer: NodeJS.Timeout | undefined
    try {
      await Promise.race([work, new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => { reject(new Error(`the cache did not confirm the invalidation within ${ms} ms`)) }, ms)
      })])
    } finally {
      clearTimeout(timer)
    }
  }

  async #apply (batch: PendingInvalidations): Promise<void> {
    if (batch.flush !== undefined) {
      await this.#withinTimeout(this.#options.cache.flushAll())
      changeFeedFullFlushes.inc({ reason: batch.flush })
      this.#options.log.warn({ reason: batch.flush }, 'change feed: every cache entry was flushed')
      return
    }
    const { keys, tags } = batch
    await this.#withinTimeout(this.#options.cache.invalidateConfirmed({ keys, tags }))
    changeFeedInvalidations.inc({ kind: 'key' }, keys.length)
    changeFeedInvalidations.inc({ kind: 'tag' }, tags.length)
  }
}
