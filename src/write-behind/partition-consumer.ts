import type { Redis } from 'ioredis'
import { adapterLog } from '../runtime/log.js'
import { writeBehindBacklog, writeBehindBatches, writeBehindLag, writeBehindWrites } from '../runtime/metrics.js'
import type { Db, DeferredWrite, JsonValue, WriteBehindApplier } from '../runtime/ports.js'
import { FencedError, applyBatch, takeOver } from './applied-offsets.js'
import { GROUP, type PartitionKeys } from './stream-keys.js'

export interface PartitionConsumerOptions {
  readonly redis: Redis
  readonly db: Db
  readonly stream: string
  readonly partition: number
  readonly keys: PartitionKeys
  readonly applier: WriteBehindApplier
  /** This consumer's name in the group (unique per process and partition). */
  readonly consumer: string
  readonly batchSize: number
  /** How long the partition stays ours without a renewal (a killed consumer's is taken over after this). */
  readonly leaseMs: number
}

type RawEntry = [string, string[] | null]
/** ioredis' XREADGROUP with the arguments built at run time. */
interface GroupReader { xreadgroup(...args: Array<string | number>): Promise<Array<[string, RawEntry[]]> | null> }
type Scripted = Redis & {
  writeBehindAcquire(owner: string, term: string, consumer: string, px: number): Promise<number>
  writeBehindRenew(owner: string, consumer: string, px: number): Promise<number>
  writeBehindRelease(owner: string, consumer: string): Promise<number>
}

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/**
 * Applies one partition of a stream, while it holds the partition's lease, so at most one
 * consumer at a time does: entries in stream order, a batch per transaction (applied-offsets.ts),
 * XACK and XDEL once it committed. It always finishes the entries it was given (its pending
 * list) before it reads new ones, and on taking a partition over it first claims everything
 * pending (XAUTOCLAIM), so a killed consumer's batch is applied next, before anything newer:
 * in order per key, and nothing acknowledged is lost.
 */
export class PartitionConsumer {
  readonly #o: PartitionConsumerOptions
  readonly #redis: Scripted
  readonly #labels: { stream: string, partition: string }
  #term: number | undefined
  #stopped = false
  #running: Promise<void> | undefined

  constructor (options: PartitionConsumerOptions) {
    this.#o = options
    this.#redis = options.redis as Scripted
    this.#labels = { stream: options.stream, partition: String(options.partition) }
  }

  start (): void {
    this.#running ??= this.#loop()
  }

  async stop (): Promise<void> {
    this.#stopped = true
    await this.#running
    if (this.#term !== undefined) await this.#redis.writeBehindRelease(this.#o.keys.owner, this.#o.consumer).catch(() => {})
    this.#forgetGauges()
  }

  async #loop (): Promise<void> {
    const blockMs = Math.max(50, Math.min(1000, Math.floor(this.#o.leaseMs / 3)))
    let pause = 50
    while (!this.#stopped) {
      try {
        if (!(await this.#own())) {
          await sleep(Math.min(1000, Math.floor(this.#o.leaseMs / 2)))
          continue
        }
        // What this consumer was given and has not applied comes first, always.
        let batch = await this.#read('0', undefined)
        if (batch.length === 0 && !this.#stopped) batch = await this.#read('>', blockMs)
        if (batch.length > 0) await this.#apply(batch)
        await this.#report()
        pause = 50
      } catch (err) {
        if (err instanceof FencedError) {
          writeBehindBatches.inc({ stream: this.#o.stream, outcome: 'fenced' })
          this.#term = undefined
          this.#forgetGauges()
        } else {
          writeBehindBatches.inc({ stream: this.#o.stream, outcome: 'failed' })
        }
        adapterLog.warn({ err, stream: this.#o.stream, partition: this.#o.partition }, 'write-behind batch not applied; retried')
        await sleep(pause)
        pause = Math.min(pause * 2, 2000)
      }
    }
  }

  /** Keeps (or takes) the partition's lease; on taking it, fences the previous owner and claims its pending writes. */
  async #own (): Promise<boolean> {
    const { keys, consumer, leaseMs } = this.#o
    if (this.#term !== undefined) {
      if (await this.#redis.writeBehindRenew(keys.owner, consumer, leaseMs) === 1) return true
      this.#term = undefined
      this.#forgetGauges()
    }
    const term = await this.#redis.writeBehindAcquire(keys.owner, keys.term, consumer, leaseMs)
    if (term === 0) return false
    try {
      await takeOver(this.#o.db, this.#o.stream, this.#o.partition, term)
    } catch (err) {
      // Not fenced in the database yet: give the lease back rather than sit on it.
      await this.#redis.writeBehindRelease(keys.owner, consumer).catch(() => {})
      throw err
    }
    let cursor = '0-0'
    do {
      const claimed = await this.#redis.call('XAUTOCLAIM', keys.stream, GROUP, consumer, 0, cursor, 'COUNT', 1000, 'JUSTID') as [string, string[]]
      cursor = claimed[0]
    } while (cursor !== '0-0')
    this.#term = term
    return true
  }

  async #read (from: '0' | '>', blockMs: number | undefined): Promise<RawEntry[]> {
    const { keys, consumer, batchSize } = this.#o
    const args: Array<string | number> = ['GROUP', GROUP, consumer, 'COUNT', batchSize]
    if (blockMs !== undefined) args.push('BLOCK', blockMs)
    const reply = await (this.#redis as unknown as GroupReader).xreadgroup(...args, 'STREAMS', keys.stream, from)
    return reply?.[0]?.[1] ?? []
  }

  async #apply (raw: readonly RawEntry[]): Promise<void> {
    const { stream, partition, keys } = this.#o
    const batch: DeferredWrite[] = []
    for (const [id, fields] of raw) {
      // An entry deleted after it was read (a consumer acked and deleted it) has no fields.
      if (fields === null) continue
      const value = new Map<string, string>()
      for (let i = 0; i + 1 < fields.length; i += 2) value.set(fields[i] as string, fields[i + 1] as string)
      batch.push({ id, key: value.get('k') ?? '', payload: JSON.parse(value.get('p') ?? 'null') as JsonValue })
    }
    const { applied, skipped } = await applyBatch(this.#o.db, stream, partition, this.#term as number, batch, this.#o.applier)
    const ids = raw.map(([id]) => id)
    await this.#redis.multi().xack(keys.stream, GROUP, ...ids).xdel(keys.stream, ...ids).exec()
    writeBehindBatches.inc({ stream, outcome: 'applied' })
    writeBehindWrites.inc({ stream, outcome: 'applied' }, applied)
    if (skipped > 0) writeBehindWrites.inc({ stream, outcome: 'skipped' }, skipped)
  }

  /** Backlog (entries not yet applied) and lag (age of the oldest), for the partition this consumer owns. */
  async #report (): Promise<void> {
    const results = await this.#redis.multi().xlen(this.#o.keys.stream).xrange(this.#o.keys.stream, '-', '+', 'COUNT', 1).exec()
    const backlog = Number(results?.[0]?.[1] ?? 0)
    const oldest = (results?.[1]?.[1] as Array<[string, string[]]> | undefined)?.[0]?.[0]
    writeBehindBacklog.set(this.#labels, backlog)
    writeBehindLag.set(this.#labels, oldest === undefined ? 0 : Math.max(0, (Date.now() - Number(oldest.split('-')[0])) / 1000))
  }

  #forgetGauges (): void {
    writeBehindBacklog.remove(this.#labels)
    writeBehindLag.remove(this.#labels)
  }
}
