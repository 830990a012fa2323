import { Queue, Worker } from 'bullmq'
import type { Redis } from 'ioredis'
import { OutgrowError } from '../errors/index.js'
import type { DependencyHealth, DependencyState, ReportsDependencies } from '../runtime/dependencies.js'
import { jobsProcessed } from '../runtime/metrics.js'
import type { EnqueueOptions, JobHandler, JsonValue, Ports } from '../runtime/ports.js'
import { callRedis, createFailFastRedis, createRedisClient, type RedisTarget } from '../runtime/redis-client.js'
import { DEFAULT_JOB_ID_RETENTION, backoffMs, type JobIdRetention, type JobQueue } from './queue.js'

/** An enqueue gives up after this long, whatever BullMQ is waiting for. */
const ENQUEUE_TIMEOUT_MS = 2000

/**
 * Jobs in Redis through BullMQ: enqueued by app instances, processed by worker processes (level 4).
 * While Redis is unreachable an enqueue fails within ENQUEUE_TIMEOUT_MS with
 * OUTGROW_DEPENDENCY_UNAVAILABLE naming the queue; workers wait for Redis to return.
 */
export class BullMqQueue implements JobQueue, ReportsDependencies {
  readonly #target: RedisTarget
  readonly #name: string
  readonly #concurrency: number
  readonly #retention: JobIdRetention
  readonly #queue: Queue
  readonly #health: DependencyHealth
  // BullMQ does not close connections it was given; these are ours to close.
  readonly #connections: Redis[] = []
  #worker: Worker | undefined

  constructor (target: RedisTarget, name: string, concurrency: number, retention: JobIdRetention = DEFAULT_JOB_ID_RETENTION) {
    this.#target = target
    this.#name = name
    this.#concurrency = concurrency
    this.#retention = retention
    // The producer's connection fails fast; BullMQ requires retries without limit only for workers.
    const { redis, health } = createFailFastRedis(target, 'jobs')
    this.#connections.push(redis)
    this.#health = health
    this.#queue = new Queue(name, { connection: redis })
    this.#queue.on('error', () => {})
  }

  #connect (): Redis {
    const connection = createRedisClient(this.#target, { purpose: 'blocking' })
    this.#connections.push(connection)
    return connection
  }

  async enqueue (name: string, payload: JsonValue, options: EnqueueOptions = {}): Promise<{ id: string }> {
    const part = `job queue ${this.#name}`
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        this.#health.markDown()
        reject(new OutgrowError('OUTGROW_DEPENDENCY_UNAVAILABLE', `${part} (redis) unavailable: no answer within ${ENQUEUE_TIMEOUT_MS} ms`, { dependency: part }))
      }, ENQUEUE_TIMEOUT_MS)
    })
    try {
      const job = await callRedis(this.#health, part, async () => await Promise.race([timedOut, this.#queue.add(name, payload, {
        attempts: options.attempts ?? 3,
        backoff: { type: 'exponential', delay: backoffMs(1) },
        // BullMQ forgets a job id when it removes the job: that is the id retention.
        removeOnComplete: { count: this.#retention.count, age: this.#retention.ageSeconds },
        removeOnFail: { count: this.#retention.count, age: this.#retention.ageSeconds },
        ...(options.jobId === undefined ? {} : { jobId: options.jobId }),
      })]))
      jobsProcessed.inc({ name, outcome: 'enqueued' })
      return { id: String(job.id) }
    } catch (err) {
      jobsProcessed.inc({ name, outcome: 'not_enqueued' })
      throw err
    } finally {
      clearTimeout(timer)
    }
  }

  async dependencyStates (): Promise<{ jobs: DependencyState }> {
    return { jobs: await this.#health.current() }
  }

  async process (handlers: Readonly<Record<string, JobHandler>>, ports: Ports): Promise<void> {
    this.#worker = new Worker(this.#name, async (job) => {
      const handler = handlers[job.name]
      if (handler === undefined) throw new OutgrowError('OUTGROW_JOB_FAILED', `no handler for job ${job.name}`)
      try {
        const result = await handler(job.data as JsonValue, { ...ports, jobId: String(job.id), attempt: job.attemptsMade + 1 })
        jobsProcessed.inc({ name: job.name, outcome: 'completed' })
        return result
      } catch (err) {
        jobsProcessed.inc({ name: job.name, outcome: 'failed' })
        throw err
      }
    }, { connection: this.#connect(), concurrency: this.#concurrency })
    this.#worker.on('error', (err) => { ports.log.error({ err }, 'job worker error') })
    await this.#worker.waitUntilReady()
  }

  async close (): Promise<void> {
    // Worker.close() waits for running jobs; unstarted ones stay in Redis for the next worker.
    await this.#worker?.close()
    await this.#queue.close()
    await Promise.all(this.#connections.map(async (c) => { await c.quit().catch(() => { c.disconnect() }) }))
  }
}
