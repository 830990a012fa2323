import type { EnqueueOptions, JobContext, JobHandler, Jobs, JsonValue, Ports } from '../runtime/ports.js'

/** A job queue adapter: enqueue from app code, process with handlers where configured. */
export interface JobQueue extends Jobs {
  /** Starts processing with the given handlers (in-process adapters run them in the app process). */
  process(handlers: Readonly<Record<string, JobHandler>>, ports: Ports): Promise<void>
  /** Stops taking jobs and waits for running ones to finish. */
  close(): Promise<void>
}

export type { EnqueueOptions, JobContext, JobHandler, JsonValue }

/** Backoff between attempts: 100 ms, 200 ms, 400 ms, … capped at 10 s. */
export function backoffMs (attempt: number): number {
  return Math.min(10_000, 100 * 2 ** Math.max(0, attempt - 1))
}
