import { Queue, Worker } from 'bullmq'
import type { Redis } from 'ioredis'
import { OutgrowError } from '../errors/index.js'
import type { DependencyHealth, DependencyState, ReportsDependencies } from '../runtime/dependencies.js'
import { jobRunSeconds, jobsProcessed } from '../runtime/metrics.js'
import type { EnqueueOptions, JobBackoff, JobHandler, JsonValue, Ports } from '../runtime/ports.js'
import { callRedis, createFailFastRedis, createRedisClient, type RedisTarget } from '../runtime/redis-client.js'
import { deadLetters, jobInfo, purgeDeadLetters, queueStats, retryAllDeadLetters, retryDeadLetter } from './bullmq-admin.js'
import { checkSchedule } from './schedule.js'
import {
  DEFAULT_BACKOFF, DEFAULT_JOB_ID_RETENTION, backoffDelay, delayOf, effectiveOptions,
  type DeadLetter, type JobIdRetention, type JobInfo, type JobQueue, type JobQueueOptions, type QueueStats,
} from './queue.js'

/**
 * Our back-off travels with each job as BullMQ's backoff type `outgrow:<maxMs>:<jitter>` (its
 * delay in `delay`), so a worker computes a retry's wait as the enqueuer asked.
 */
function backoffType (backoff: JobBackoff): { type: string, delay: number } {
  return { type: `outgrow:${backoff.maxMs ?? DEFAULT_BACKOFF.maxMs}:${backoff.jitter ?? DEFAULT_BACKOFF.jitter}`, delay: backoff.delayMs }
}

function backoffStrategy (attemptsMade: number, type?: string, _err?: Error, job?: { opts: { backoff?: number | { delay?: number } } }): number {
  const [, maxMs, jitter] = (type ?? '').split(':').map(Number)
  const option = job?.opts.backoff
  const delayMs = typeof option === 'object' ? option.delay ?? DEFAULT_BACKOFF.delayMs : DEFAULT_BACKOFF.delayMs
  return backoffDelay(attemptsMade, { delayMs, maxMs: maxMs ?? DEFAULT_BACKOFF.maxMs, jitter: jitter ?? DEFAULT_BACKOFF.jitter })
}

/** An enqueue gives up after this long, whatever BullMQ is waiting for. */
const ENQUEUE_TIMEOUT_MS = 2000

/**
 * Jobs in Redis through BullMQ: enqueued by app instances, processed by worker processes (level 4).
 * While Redis is unreachable an enqueue fails within ENQUEUE_TIMEOUT_MS with
 * OUTGROW_DEPENDENCY_UNAVAILABLE naming the queue; workers wait for Redis to return.
 */
export class BullMqQueue implements JobQueue, ReportsDependencies {
  readonly name: string
  readonly #target: RedisTarget
  readonly #concurrency: number
  readonly #retention: JobIdRetention
  readonly #queue: Queue
  readonly #health: DependencyHealth
  // BullMQ does not close connections it was given; these are ours to close.
  readonly #connections: Redis[] = []
  #worker: Worker | undefined
  #options: JobQueueOptions = {}

  constructor (target: RedisTarget, name: string, concurrency: number, retention: JobIdRetention = DEFAULT_JOB_ID_RETENTION) {
    this.#target = target
    this.name = name
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

  configure (options: JobQueueOptions): void {
    this.#options = options
  }

  async enqueue (name: string, payload: JsonValue, options: EnqueueOptions = {}): Promise<{ id: string }> {
    const part = `job queue ${this.name}`
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        this.#health.markDown()
        reject(new OutgrowError('OUTGROW_DEPENDENCY_UNAVAILABLE', `${part} (redis) unavailable: no answer within ${ENQUEUE_TIMEOUT_MS} ms`, { dependency: part }))
      }, ENQUEUE_TIMEOUT_MS)
    })
    try {
      const { attempts, backoff } = effectiveOptions(name, options, this.#options)
      const delay = delayOf(options)
      const job = await callRedis(this.#health, part, async () => await Promise.race([timedOut, this.#queue.add(name, payload, {
        attempts,
        backoff: backoffType(backoff),
        ...(delay > 0 ? { delay } : {}),
        // BullMQ forgets a job id when it removes the job: that is the id retention. A job that
        // used up its attempts stays as a dead letter until retried or purged.
        removeOnComplete: { count: this.#retention.count, age: this.#retention.ageSeconds },
        removeOnFail: false,
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
    this.#worker = new Worker(this.name, async (job) => {
      const handler = handlers[job.name]
      const stopTimer = jobRunSeconds.startTimer({ name: job.name })
      try {
        if (handler === undefined) throw new OutgrowError('OUTGROW_JOB_FAILED', `no handler for job ${job.name}`)
        const progress = async (value: JsonValue): Promise<void> => { await job.updateProgress((value ?? 0)) }
        const result = await handler(job.data as JsonValue, { ...ports, jobId: String(job.id), attempt: job.attemptsMade + 1, progress })
        stopTimer({ outcome: 'completed' })
        jobsProcessed.inc({ name: job.name, outcome: 'completed' })
        return result
      } catch (err) {
        stopTimer({ outcome: 'failed' })
        const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1)
        jobsProcessed.inc({ name: job.name, outcome: last ? 'failed' : 'retried' })
        throw err
      }
    }, { connection: this.#connect(), concurrency: this.#concurrency, settings: { backoffStrategy } })
    this.#worker.on('error', (err) => { ports.log.error({ err }, 'job worker error') })
    await this.#worker.waitUntilReady()
    await this.#installSchedules(Object.keys(handlers))
  }

  /**
   * BullMQ's job schedulers: one per schedule, upserted by every worker (the same definition
   * each time); each tick is one job, whatever the number of workers. Schedules the service no
   * longer declares are removed.
   */
  async #installSchedules (jobTypes: readonly string[]): Promise<void> {
    const schedules = this.#options.repeat ?? {}
    for (const [schedule, job] of Object.entries(schedules)) {
      checkSchedule(schedule, job, jobTypes)
      const { attempts, backoff } = effectiveOptions(job.name, {}, this.#options)
      await this.#queue.upsertJobScheduler(schedule, job.everyMs !== undefined ? { every: job.everyMs } : { pattern: job.cron, tz: 'UTC' }, {
        name: job.name,
        data: job.payload ?? null,
        opts: { attempts, backoff: backoffType(backoff), removeOnComplete: { count: this.#retention.count, age: this.#retention.ageSeconds }, removeOnFail: false },
      })
    }
    for (const installed of await this.#queue.getJobSchedulers()) {
      if (schedules[installed.key] === undefined) await this.#queue.removeJobScheduler(installed.key)
    }
  }

  async failed (limit = 1000): Promise<DeadLetter[]> { return await deadLetters(this.#queue, limit) }
  async retry (id: string): Promise<boolean> { return await retryDeadLetter(this.#queue, id) }
  async retryAll (): Promise<number> { return await retryAllDeadLetters(this.#queue) }
  async purge (olderThanMs = 0): Promise<number> { return await purgeDeadLetters(this.#queue, olderThanMs) }
  async stats (): Promise<QueueStats> { return await queueStats(this.#queue) }
  async job (id: string): Promise<JobInfo | undefined> { return await jobInfo(this.#queue, id) }

  async close (): Promise<void> {
    // Worker.close() waits for running jobs; unstarted ones stay in Redis for the next worker.
    await this.#worker?.close()
    await this.#queue.close()
    await Promise.all(this.#connections.map(async (c) => { await c.quit().catch(() => { c.disconnect() }) }))
  }
}
