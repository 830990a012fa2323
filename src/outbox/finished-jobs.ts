import type { Db, JobHandler, Logger } from '../runtime/ports.js'
import { deleteFinishedJob } from './relay-lease.js'

/**
 * For a queue that keeps jobs only in its process (levels 1–3): a job that came from the outbox
 * deletes its entry once its handler succeeded, not when it was enqueued, so a process that dies
 * with the job queued or running leaves the entry for the next relay term. A delete that fails is
 * logged; the entry is handed on again later and the (idempotent) job runs once more.
 */
export function deleteEntriesOnSuccess (handlers: Readonly<Record<string, JobHandler>>, db: Db, log: Logger): Record<string, JobHandler> {
  return Object.fromEntries(Object.entries(handlers).map(([name, handler]): [string, JobHandler] => [name, async (payload, context) => {
    const result = await handler(payload, context)
    await deleteFinishedJob(db, context.jobId).catch((err: unknown) => { log.warn({ err, job: name, jobId: context.jobId }, 'outbox entry of a finished job not deleted; it is handed on again later') })
    return result
  }]))
}
