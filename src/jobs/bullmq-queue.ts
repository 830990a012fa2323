import { Queue, Worker } from 'bullmq'
import { Redis } from 'ioredis'
import { OutgrowError } from '../errors/index.js'
import { jobsProcessed } from '../runtime/metrics.js'
import type { EnqueueOptions, JobHandler, JsonValue, Ports } from '../runtime/ports.js'
import { backoffMs, type JobQueue } from './queue.js'

/** Jobs in Redis through BullMQ: enqueued by app instances, processed by worker processes (level 4). */
export class BullMqQueue implements JobQueue {
  readonly #url: string
  readonly #name: string
  readonly #concurrency: number
  readonly #queue: Queue
  // BullMQ does not close connections it was given; these are ours to close.
  readonly #connections: Redis[] = []
  #worker: Worker | undefined

  constructor (url: string, name: string, concurrency: number) {
    this.#url = url
    this.#name = name
    this.#concurrency = concurrency
    this.#queue = new Queue(name, { connection: this.#connect() })
    this.#queue.on('error', () => {})
  }

  #connect (): Redis {
    const connection = new Redis(this.#url, { maxRetriesPerRequest: null })
    connection.on('error', () => { /* reconnects by itself */ })
    this.#connections.push(connection)
    return connection
  }

  async enqueue (name: string, payload: JsonValue, options: EnqueueOptions = {}): Promise<{ id: string }> {
    const job = await this.#queue.add(name, payload, {
      attempts: options.attempts ?? 3,
      backoff: { type: 'exponential', delay: backoffMs(1) },
      removeOnComplete: { count: 1000 },
      removeOnFail: { count: 5000 },
      ...(options.jobId === undefined ? {} : { jobId: options.jobId }),
    })
    jobsProcessed.inc({ name, outcome: 'enqueued' })
    return { id: String(job.id) }
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
