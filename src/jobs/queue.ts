import type { EnqueueOptions, JobContext, JobHandler, Jobs, JsonValue, Ports } from '../runtime/ports.js'

/** A job queue adapter: enqueue from app code, process with handlers where configured. */
export interface JobQueue extends Jobs {
  /** Starts processing with the given handlers (in-process adapters run them in the app process). */
  process(handlers: Readonly<Record<string, JobHandler>>, ports: Ports): Promise<void>
  /** Stops taking jobs and waits for running ones to finish. */
  close(): Promise<void>
}

/**
 * The job id contract every adapter keeps. An id is remembered while its job waits or runs, and
 * after it finishes for as long as it is among the last `count` completed jobs (or the last
 * `count` failed ones) and at most `ageSeconds` old. Within that, an enqueue with the same id is
 * a no-op that returns the id; after it, the id may be forgotten and an enqueue runs the job again.
 */
export interface JobIdRetention {
  readonly count: number
  readonly ageSeconds: number
}

/** 1000 finished jobs, at most a day: enough to absorb retries of a request that enqueued a job. */
export const DEFAULT_JOB_ID_RETENTION: JobIdRetention = { count: 1000, ageSeconds: 24 * 3600 }

export type { EnqueueOptions, JobContext, JobHandler, JsonValue }

/** Backoff between attempts: 100 ms, 200 ms, 400 ms, … capped at 10 s. */
export function backoffMs (attempt: number): number {
  return Math.min(10_000, 100 * 2 ** Math.max(0, attempt - 1))
}
