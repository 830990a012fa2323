import type { EnqueueOptions, JobBackoff, JobContext, JobHandler, Jobs, JobTypeOptions, JsonValue, Ports, RepeatableJob } from '../runtime/ports.js'

/** A job that used up its attempts: kept in the queue's dead-letter list until retried or purged. */
export interface DeadLetter {
  readonly id: string
  readonly name: string
  readonly payload: JsonValue
  /** ISO time of the last failed attempt. */
  readonly failedAt: string
  readonly attempts: number
  readonly error: string
}

/** Where a job is now, as `outgrow jobs` and tests see it. */
export interface JobInfo {
  readonly id: string
  readonly name: string
  readonly state: 'waiting' | 'delayed' | 'active' | 'completed' | 'failed' | 'unknown'
  readonly progress: JsonValue | undefined
  readonly attemptsMade: number
}

/** One queue's counts now (also exported as metrics: metrics.ts). */
export interface QueueStats {
  readonly queue: string
  readonly waiting: number
  readonly active: number
  readonly delayed: number
  /** Dead letters. */
  readonly failed: number
  /** Age of the oldest job waiting to run (0 when none waits). */
  readonly oldestWaitingSeconds: number
}

/** What a service declares about its jobs besides the handlers (ServiceDefinition.jobOptions and .repeat). */
export interface JobQueueOptions {
  readonly jobOptions?: Readonly<Record<string, JobTypeOptions>> | undefined
  readonly repeat?: Readonly<Record<string, RepeatableJob>> | undefined
}

/** A job queue adapter: enqueue from app code, process with handlers where configured. */
export interface JobQueue extends Jobs {
  /** The name metrics and `outgrow jobs` show. */
  readonly name: string
  /** Job type defaults; every process that enqueues calls it before its first enqueue. */
  configure(options: JobQueueOptions): void
  /** Starts processing with the given handlers (in-process adapters run them in the app process); installs the schedules. */
  process(handlers: Readonly<Record<string, JobHandler>>, ports: Ports): Promise<void>
  /** Dead letters, newest first. */
  failed(limit?: number): Promise<DeadLetter[]>
  /** Runs a dead letter again with its full attempts; false when no dead letter has this id. */
  retry(id: string): Promise<boolean>
  /** Retries every dead letter; how many. */
  retryAll(): Promise<number>
  /** Deletes dead letters that failed at least `olderThanMs` ago (all when 0); how many. */
  purge(olderThanMs?: number): Promise<number>
  stats(): Promise<QueueStats>
  job(id: string): Promise<JobInfo | undefined>
  /** Stops taking jobs and waits for running ones to finish. */
  close(): Promise<void>
}

/**
 * The job id contract every adapter keeps. An id is remembered while its job waits or runs, and
 * after it finishes for as long as it is among the last `count` completed jobs (or the last
 * `count` failed ones) and at most `ageSeconds` old. Within that, an enqueue with the same id is
 * a no-op that returns the id; after it, the id may be forgotten and an enqueue runs the job again.
 * Dead letters are kept (and their ids remembered) until retried or purged.
 */
export interface JobIdRetention {
  readonly count: number
  readonly ageSeconds: number
}

/** 1000 finished jobs, at most a day: enough to absorb retries of a request that enqueued a job. */
export const DEFAULT_JOB_ID_RETENTION: JobIdRetention = { count: 1000, ageSeconds: 24 * 3600 }

export type { EnqueueOptions, JobContext, JobHandler, JsonValue }

export const DEFAULT_ATTEMPTS = 3
export const DEFAULT_BACKOFF: Required<JobBackoff> = { delayMs: 100, maxMs: 10_000, jitter: 0.2 }

/**
 * The wait after failed attempt `attempt` (1-based): delayMs · 2^(attempt−1), capped at maxMs,
 * varied by ±jitter so that jobs failing together do not all retry together.
 */
export function backoffDelay (attempt: number, backoff: JobBackoff = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const maxMs = backoff.maxMs ?? DEFAULT_BACKOFF.maxMs
  const jitter = Math.min(1, Math.max(0, backoff.jitter ?? DEFAULT_BACKOFF.jitter))
  const base = Math.min(maxMs, backoff.delayMs * 2 ** Math.max(0, attempt - 1))
  return Math.max(0, Math.round(base * (1 + jitter * (2 * random() - 1))))
}

/** Milliseconds from `now` until a job may run (0: at once). */
export function delayOf (options: EnqueueOptions, now: number = Date.now()): number {
  const runAt = options.runAt === undefined ? 0 : Number(options.runAt) - now
  return Math.max(0, options.delayMs ?? 0, runAt)
}

/** An enqueue's options completed by its job type's defaults. */
export function effectiveOptions (name: string, options: EnqueueOptions, defaults: JobQueueOptions): { attempts: number, backoff: JobBackoff } {
  const type = defaults.jobOptions?.[name]
  return { attempts: Math.max(1, options.attempts ?? type?.attempts ?? DEFAULT_ATTEMPTS), backoff: options.backoff ?? type?.backoff ?? DEFAULT_BACKOFF }
}

/** The id of one tick of a schedule: the same in every process, so a tick runs once. */
export function tickJobId (schedule: string, tickAt: number): string {
  return `repeat:${schedule}:${tickAt}`
}
