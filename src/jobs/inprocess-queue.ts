import { randomUUID } from 'node:crypto'
import { OutgrowError } from '../errors/index.js'
import { jobRunSeconds, jobsProcessed } from '../runtime/metrics.js'
import type { EnqueueOptions, JobBackoff, JobHandler, JsonValue, Ports } from '../runtime/ports.js'
import { FinishedIds } from './finished-ids.js'
import { checkSchedule, nextTick } from './schedule.js'
import {
  DEFAULT_JOB_ID_RETENTION, backoffDelay, delayOf, effectiveOptions, tickJobId,
  type DeadLetter, type JobIdRetention, type JobInfo, type JobQueue, type JobQueueOptions, type QueueStats,
} from './queue.js'

interface PendingJob { id: string, name: string, payload: JsonValue, attempt: number, attempts: number, backoff: JobBackoff, readySince: number }

/** An in-process queue keeps at most this many dead letters (the oldest go first). */
export const MAX_DEAD_LETTERS = 10_000

/**
 * Jobs run in the app process with bounded concurrency and retries: levels 1–3. Jobs still
 * queued (or delayed) when the process stops are lost, so applications make their jobs
 * recoverable (see ServiceDefinition.onStart) — the Redis queue of level 4 keeps them.
 */
export class InProcessQueue implements JobQueue {
  readonly name = 'inprocess'
  readonly #concurrency: number
  readonly #queue: PendingJob[] = []
  /** Ids of jobs waiting, delayed or running. */
  readonly #known = new Set<string>()
  readonly #delayed = new Map<string, { job: PendingJob, timer: NodeJS.Timeout }>()
  readonly #active = new Map<string, { job: PendingJob, progress: JsonValue | undefined }>()
  readonly #dead = new Map<string, DeadLetter>()
  readonly #completed: FinishedIds
  readonly #failed: FinishedIds
  readonly #scheduleTimers: NodeJS.Timeout[] = []
  #options: JobQueueOptions = {}
  #handlers: Readonly<Record<string, JobHandler>> = {}
  #ports: Ports | undefined
  #closing = false
  #idle: (() => void) | undefined

  constructor (concurrency: number, retention: JobIdRetention = DEFAULT_JOB_ID_RETENTION) {
    this.#concurrency = concurrency
    this.#completed = new FinishedIds(retention)
    this.#failed = new FinishedIds(retention)
  }

  configure (options: JobQueueOptions): void {
    this.#options = options
  }

  async enqueue (name: string, payload: JsonValue, options: EnqueueOptions = {}): Promise<{ id: string }> {
    if (this.#closing) throw new OutgrowError('OUTGROW_SHUTTING_DOWN', 'job queue is closing')
    const id = options.jobId ?? randomUUID()
    if (this.#known.has(id) || this.#dead.has(id) || this.#completed.has(id) || this.#failed.has(id)) return { id }
    this.#known.add(id)
    const { attempts, backoff } = effectiveOptions(name, options, this.#options)
    this.#schedule({ id, name, payload, attempt: 1, attempts, backoff, readySince: Date.now() }, delayOf(options))
    jobsProcessed.inc({ name, outcome: 'enqueued' })
    return { id }
  }

  /** Queues the job now, or after delayMs (a delayed job counts as delayed until then). */
  #schedule (job: PendingJob, delayMs: number): void {
    if (delayMs <= 0) {
      this.#queue.push({ ...job, readySince: Date.now() })
      this.#drain()
      return
    }
    const timer = setTimeout(() => {
      this.#delayed.delete(job.id)
      this.#schedule(job, 0)
    }, delayMs)
    timer.unref()
    this.#delayed.set(job.id, { job, timer })
  }

  async process (handlers: Readonly<Record<string, JobHandler>>, ports: Ports): Promise<void> {
    this.#handlers = handlers
    this.#ports = ports
    for (const [schedule, job] of Object.entries(this.#options.repeat ?? {})) {
      checkSchedule(schedule, job, Object.keys(handlers))
      this.#repeat(schedule, Date.now())
    }
    this.#drain()
  }

  /** One process runs these jobs, so a timer per schedule is one run per tick; the tick's id makes a repeat a no-op. */
  #repeat (schedule: string, after: number): void {
    const job = this.#options.repeat?.[schedule]
    if (job === undefined || this.#closing) return
    const at = nextTick(job, after)
    const timer = setTimeout(() => {
      this.#scheduleTimers.splice(this.#scheduleTimers.indexOf(timer), 1)
      this.enqueue(job.name, job.payload ?? null, { jobId: tickJobId(schedule, at) })
        .catch((err: unknown) => { this.#ports?.log.warn({ err, schedule }, 'repeatable job not enqueued') })
      this.#repeat(schedule, at)
    }, Math.max(0, at - Date.now()))
    timer.unref()
    this.#scheduleTimers.push(timer)
  }

  #drain (): void {
    if (this.#ports === undefined) return
    while (this.#active.size < this.#concurrency && this.#queue.length > 0) {
      const job = this.#queue.shift() as PendingJob
      this.#active.set(job.id, { job, progress: undefined })
      void this.#run(job).finally(() => {
        this.#active.delete(job.id)
        if (this.#active.size === 0 && this.#queue.length === 0) this.#idle?.()
        this.#drain()
      })
    }
  }

  async #run (job: PendingJob): Promise<void> {
    const handler = this.#handlers[job.name]
    const ports = this.#ports as Ports
    const progress = async (value: JsonValue): Promise<void> => {
      const active = this.#active.get(job.id)
      if (active !== undefined) active.progress = value
    }
    const stopTimer = jobRunSeconds.startTimer({ name: job.name })
    try {
      if (handler === undefined) throw new OutgrowError('OUTGROW_JOB_FAILED', `no handler for job ${job.name}`)
      await handler(job.payload, { ...ports, jobId: job.id, attempt: job.attempt, progress })
      stopTimer({ outcome: 'completed' })
      jobsProcessed.inc({ name: job.name, outcome: 'completed' })
      this.#completed.add(job.id)
      this.#known.delete(job.id)
    } catch (err) {
      stopTimer({ outcome: 'failed' })
      if (job.attempt < job.attempts && !this.#closing) {
        jobsProcessed.inc({ name: job.name, outcome: 'retried' })
        this.#schedule({ ...job, attempt: job.attempt + 1 }, backoffDelay(job.attempt, job.backoff))
        return
      }
      jobsProcessed.inc({ name: job.name, outcome: 'failed' })
      this.#known.delete(job.id)
      this.#dead.set(job.id, { id: job.id, name: job.name, payload: job.payload, failedAt: new Date().toISOString(), attempts: job.attempt, error: (err as Error).message ?? String(err) })
      for (const oldest of this.#dead.keys()) {
        if (this.#dead.size <= MAX_DEAD_LETTERS) break
        this.#dead.delete(oldest)
        this.#failed.add(oldest)
      }
      ports.log.error({ err, job: job.name, jobId: job.id }, 'job failed: dead letter')
    }
  }

  async failed (limit = 1000): Promise<DeadLetter[]> {
    return [...this.#dead.values()].reverse().slice(0, limit)
  }

  async retry (id: string): Promise<boolean> {
    const dead = this.#dead.get(id)
    if (dead === undefined) return false
    this.#dead.delete(id)
    this.#known.add(id)
    const { attempts, backoff } = effectiveOptions(dead.name, {}, this.#options)
    this.#schedule({ id, name: dead.name, payload: dead.payload, attempt: 1, attempts, backoff, readySince: Date.now() }, 0)
    return true
  }

  async retryAll (): Promise<number> {
    const ids = [...this.#dead.keys()]
    for (const id of ids) await this.retry(id)
    return ids.length
  }

  async purge (olderThanMs = 0): Promise<number> {
    const cutoff = Date.now() - olderThanMs
    let purged = 0
    for (const [id, dead] of this.#dead) {
      if (Date.parse(dead.failedAt) > cutoff) continue
      this.#dead.delete(id)
      purged++
    }
    return purged
  }

  async stats (): Promise<QueueStats> {
    const oldest = this.#queue[0]?.readySince
    return {
      queue: this.name,
      waiting: this.#queue.length,
      active: this.#active.size,
      delayed: this.#delayed.size,
      failed: this.#dead.size,
      oldestWaitingSeconds: oldest === undefined ? 0 : Math.max(0, (Date.now() - oldest) / 1000),
    }
  }

  async job (id: string): Promise<JobInfo | undefined> {
    const active = this.#active.get(id)
    if (active !== undefined) return { id, name: active.job.name, state: 'active', progress: active.progress, attemptsMade: active.job.attempt - 1 }
    const delayed = this.#delayed.get(id)?.job
    if (delayed !== undefined) return { id, name: delayed.name, state: 'delayed', progress: undefined, attemptsMade: delayed.attempt - 1 }
    const waiting = this.#queue.find((j) => j.id === id)
    if (waiting !== undefined) return { id, name: waiting.name, state: 'waiting', progress: undefined, attemptsMade: waiting.attempt - 1 }
    const dead = this.#dead.get(id)
    if (dead !== undefined) return { id, name: dead.name, state: 'failed', progress: undefined, attemptsMade: dead.attempts }
    // Only the id of a completed job is remembered.
    if (this.#completed.has(id)) return { id, name: '', state: 'completed', progress: undefined, attemptsMade: 0 }
    return undefined
  }

  async close (): Promise<void> {
    this.#closing = true
    for (const timer of this.#scheduleTimers.splice(0)) clearTimeout(timer)
    // A retry waiting out its back-off runs now (as before back-off existed); a job delayed by its
    // enqueuer must not run early, and an in-process queue keeps nothing past its process.
    const dropped = [...this.#delayed.values()].filter(({ job }) => job.attempt === 1).length
    if (dropped > 0) this.#ports?.log.warn({ dropped }, 'delayed jobs dropped at close: an in-process queue keeps nothing past its process')
    for (const { job, timer } of this.#delayed.values()) {
      clearTimeout(timer)
      if (job.attempt > 1) this.#queue.push(job)
    }
    this.#delayed.clear()
    this.#drain()
    // Queued jobs still run before the process exits: nothing accepted is dropped on a clean stop.
    if (this.#active.size === 0 && this.#queue.length === 0) return
    await new Promise<void>((resolve) => { this.#idle = resolve })
  }
}
