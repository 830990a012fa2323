import { randomUUID } from 'node:crypto'
import { OutgrowError } from '../errors/index.js'
import { jobsProcessed } from '../runtime/metrics.js'
import type { EnqueueOptions, JobHandler, JsonValue, Ports } from '../runtime/ports.js'
import { FinishedIds } from './finished-ids.js'
import { DEFAULT_JOB_ID_RETENTION, backoffMs, type JobIdRetention, type JobQueue } from './queue.js'

interface PendingJob { id: string, name: string, payload: JsonValue, attempt: number, attempts: number }

/**
 * Jobs run in the app process with bounded concurrency and retries: levels 1–3. Jobs still
 * queued when the process dies are lost, so applications make their jobs recoverable
 * (see ServiceDefinition.onStart) — the Redis queue of level 4 keeps them.
 */
export class InProcessQueue implements JobQueue {
  readonly #concurrency: number
  readonly #queue: PendingJob[] = []
  /** Ids of jobs waiting or running. */
  readonly #known = new Set<string>()
  readonly #completed: FinishedIds
  readonly #failed: FinishedIds
  #handlers: Readonly<Record<string, JobHandler>> = {}
  #ports: Ports | undefined
  #running = 0
  #closing = false
  #idle: (() => void) | undefined

  constructor (concurrency: number, retention: JobIdRetention = DEFAULT_JOB_ID_RETENTION) {
    this.#concurrency = concurrency
    this.#completed = new FinishedIds(retention)
    this.#failed = new FinishedIds(retention)
  }

  async enqueue (name: string, payload: JsonValue, options: EnqueueOptions = {}): Promise<{ id: string }> {
    if (this.#closing) throw new OutgrowError('OUTGROW_SHUTTING_DOWN', 'job queue is closing')
    const id = options.jobId ?? randomUUID()
    if (this.#known.has(id) || this.#completed.has(id) || this.#failed.has(id)) return { id }
    this.#known.add(id)
    this.#queue.push({ id, name, payload, attempt: 1, attempts: options.attempts ?? 3 })
    jobsProcessed.inc({ name, outcome: 'enqueued' })
    this.#drain()
    return { id }
  }

  async process (handlers: Readonly<Record<string, JobHandler>>, ports: Ports): Promise<void> {
    this.#handlers = handlers
    this.#ports = ports
    this.#drain()
  }

  #drain (): void {
    if (this.#ports === undefined) return
    while (this.#running < this.#concurrency && this.#queue.length > 0) {
      const job = this.#queue.shift() as PendingJob
      this.#running++
      void this.#run(job).finally(() => {
        this.#running--
        if (this.#running === 0 && this.#queue.length === 0) this.#idle?.()
        this.#drain()
      })
    }
  }

  async #run (job: PendingJob): Promise<void> {
    const handler = this.#handlers[job.name]
    const ports = this.#ports as Ports
    try {
      if (handler === undefined) throw new OutgrowError('OUTGROW_JOB_FAILED', `no handler for job ${job.name}`)
      await handler(job.payload, { ...ports, jobId: job.id, attempt: job.attempt })
      jobsProcessed.inc({ name: job.name, outcome: 'completed' })
      this.#completed.add(job.id)
      this.#known.delete(job.id)
    } catch (err) {
      if (job.attempt < job.attempts && !this.#closing) {
        const retry = { ...job, attempt: job.attempt + 1 }
        this.#running++
        setTimeout(() => {
          this.#running--
          this.#queue.push(retry)
          this.#drain()
        }, backoffMs(job.attempt)).unref()
        return
      }
      jobsProcessed.inc({ name: job.name, outcome: 'failed' })
      this.#failed.add(job.id)
      this.#known.delete(job.id)
      ports.log.error({ err, job: job.name, jobId: job.id }, 'job failed')
    }
  }

  async close (): Promise<void> {
    this.#closing = true
    // Queued jobs still run before the process exits: nothing accepted is dropped on a clean stop.
    if (this.#running === 0 && this.#queue.length === 0) return
    await new Promise<void>((resolve) => { this.#idle = resolve })
  }
}
