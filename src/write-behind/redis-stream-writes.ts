import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import { OutgrowError } from '../errors/index.js'
import type { DependencyHealth, DependencyState, ReportsDependencies } from '../runtime/dependencies.js'
import { writeBehindWrites } from '../runtime/metrics.js'
import type { Db, JsonValue } from '../runtime/ports.js'
import { callRedis, createFailFastRedis, createRedisClient, type RedisTarget } from '../runtime/redis-client.js'
import { ensureOffsetsTable } from './applied-offsets.js'
import { PartitionConsumer } from './partition-consumer.js'
import { ACQUIRE, APPEND, GROUP, RELEASE, RENEW, partitionKeys } from './stream-keys.js'
import { checkAppend, partitionOf, type Appliers, type WriteBehindAdapter } from './write-behind.js'

export interface RedisStreamWritesOptions {
  readonly prefix: string
  /** Streams per write-behind stream: keys are spread over them by hash; each is applied by one consumer at a time. */
  readonly partitions: number
  /** The most writes one transaction applies. */
  readonly batchSize: number
  /** How long a consumer keeps its partition without renewing it: a killed consumer's partition is taken over after this. */
  readonly leaseMs: number
  /** The most writes one partition holds; appends beyond it are refused (consumers down or far behind). */
  readonly maxBacklog: number
  /** An append is acknowledged only once this many replicas have it (Redis WAIT), as session writes. */
  readonly replicaAcks?: { readonly replicas: number, readonly timeoutMs: number } | undefined
}

type Scripted = Redis & { writeBehindAppend(stream: string, max: number, key: string, payload: string): Promise<string | null> }

/**
 * Durable write-behind in Redis streams (levels 3–4). An append is an XADD to the partition of
 * its key, acknowledged once Redis has it (and, with replicaAcks, its replicas: WAIT); Redis keeps
 * it in its append-only file. Consumers (worker processes) read each partition with a consumer
 * group and apply it in batches (partition-consumer.ts); a partition is owned by one consumer at a
 * time through a lease in Redis and a term in the database, so writes of one key apply in order,
 * and a batch committed is never applied twice.
 */
export class RedisStreamWrites implements WriteBehindAdapter, ReportsDependencies {
  readonly #target: RedisTarget
  readonly #db: Db
  readonly #appliers: Appliers
  readonly #options: RedisStreamWritesOptions
  readonly #redis: Scripted
  readonly #health: DependencyHealth
  readonly #consumers: PartitionConsumer[] = []
  readonly #connections: Redis[] = []

  constructor (target: RedisTarget, db: Db, appliers: Appliers, options: RedisStreamWritesOptions) {
    this.#target = target
    this.#db = db
    this.#appliers = appliers
    this.#options = options
    const { redis, health } = createFailFastRedis(target, 'write-behind')
    redis.defineCommand('writeBehindAppend', { numberOfKeys: 1, lua: APPEND })
    this.#redis = redis as Scripted
    this.#health = health
  }

  async append (stream: string, key: string, payload: JsonValue): Promise<void> {
    const { json } = checkAppend(this.#appliers, stream, key, payload)
    const partition = partitionOf(key, this.#options.partitions)
    const keys = partitionKeys(this.#options.prefix, stream, partition)
    const acks = this.#options.replicaAcks
    try {
      const id = await callRedis(this.#health, 'write-behind', async () => {
        const appended = this.#redis.writeBehindAppend(keys.stream, this.#options.maxBacklog, key, json)
        if (acks === undefined) return await appended
        const [added, replicated] = await Promise.all([appended, this.#redis.wait(acks.replicas, acks.timeoutMs)])
        if (added !== null && replicated < acks.replicas) {
          throw new OutgrowError('OUTGROW_DEPENDENCY_UNAVAILABLE', `write-behind (redis) unavailable: the write reached ${replicated} of ${acks.replicas} replicas within ${acks.timeoutMs} ms`, { dependency: 'write-behind' })
        }
        return added
      })
      if (id === null) {
        throw new OutgrowError('OUTGROW_DEPENDENCY_UNAVAILABLE', `write-behind stream ${stream} is full: ${this.#options.maxBacklog} writes wait in partition ${partition} (its consumers are down or behind)`, { dependency: 'write-behind', stream })
      }
      writeBehindWrites.inc({ stream, outcome: 'appended' })
    } catch (err) {
      writeBehindWrites.inc({ stream, outcome: 'not_appended' })
      throw err
    }
  }

  /** Starts one consumer per stream and partition; each applies its partition while it holds its lease. */
  async process (): Promise<void> {
    if (Object.keys(this.#appliers).length === 0) return
    await ensureOffsetsTable(this.#db)
    const instance = randomUUID().slice(0, 8)
    for (const [stream, applier] of Object.entries(this.#appliers)) {
      for (let partition = 0; partition < this.#options.partitions; partition++) {
        const keys = partitionKeys(this.#options.prefix, stream, partition)
        await callRedis(this.#health, 'write-behind', async () => {
          // From 0: writes appended before any consumer ever ran are applied too.
          await this.#redis.xgroup('CREATE', keys.stream, GROUP, '0', 'MKSTREAM').catch((err: Error) => {
            if (!err.message.startsWith('BUSYGROUP')) throw err
          })
        })
        const redis = createRedisClient(this.#target, { purpose: 'blocking' })
        redis.defineCommand('writeBehindAcquire', { numberOfKeys: 2, lua: ACQUIRE })
        redis.defineCommand('writeBehindRenew', { numberOfKeys: 1, lua: RENEW })
        redis.defineCommand('writeBehindRelease', { numberOfKeys: 1, lua: RELEASE })
        this.#connections.push(redis)
        const consumer = new PartitionConsumer({
          redis, db: this.#db, stream, partition, keys, applier,
          consumer: `${instance}-${process.pid}-${partition}`,
          batchSize: this.#options.batchSize, leaseMs: this.#options.leaseMs,
        })
        this.#consumers.push(consumer)
        consumer.start()
      }
    }
  }

  async dependencyStates (): Promise<{ writeBehind: DependencyState }> {
    return { writeBehind: await this.#health.current() }
  }

  async close (): Promise<void> {
    await Promise.all(this.#consumers.map(async (consumer) => { await consumer.stop() }))
    // A connection that is not up would queue QUIT until Redis returns: dropped instead.
    await Promise.all([this.#redis, ...this.#connections].map(async (redis) => {
      if (redis.status !== 'ready') redis.disconnect()
      else await redis.quit().catch(() => { redis.disconnect() })
    }))
  }
}
