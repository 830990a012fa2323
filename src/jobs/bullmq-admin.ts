import type { Job, Queue } from 'bullmq'
import type { JsonValue } from '../runtime/ports.js'
import type { DeadLetter, JobInfo, QueueStats } from './queue.js'

/**
 * The dead-letter list and counts of a BullMQ queue. A job that used up its attempts stays in the
 * queue's failed set (jobs are enqueued with removeOnFail: false): that set is the dead-letter list.
 */

function deadLetterOf (job: Job): DeadLetter {
  return {
    id: String(job.id),
    name: job.name,
    payload: job.data as JsonValue,
    failedAt: new Date(job.finishedOn ?? job.processedOn ?? job.timestamp).toISOString(),
    attempts: job.attemptsMade,
    error: job.failedReason ?? '',
  }
}

export async function deadLetters (queue: Queue, limit: number): Promise<DeadLetter[]> {
  // The failed set is ordered by when each job failed; getFailed lists the newest first.
  const jobs = await queue.getFailed(0, Math.max(0, limit - 1))
  return jobs.filter((j): j is Job => j !== undefined).map(deadLetterOf)
}

export async function retryDeadLetter (queue: Queue, id: string): Promise<boolean> {
  const job = await queue.getJob(id)
  if (job === undefined || !await job.isFailed()) return false
  // All its attempts again: a dead letter is retried after its cause was fixed.
  await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true })
  return true
}

export async function retryAllDeadLetters (queue: Queue): Promise<number> {
  let retried = 0
  // In pages, so a long list does not come back in one reply.
  for (;;) {
    const page = await queue.getFailed(0, 199)
    if (page.length === 0) return retried
    for (const job of page) if (job !== undefined && await retryDeadLetter(queue, String(job.id))) retried++
  }
}

export async function purgeDeadLetters (queue: Queue, olderThanMs: number): Promise<number> {
  // clean's limit 0 removes every match.
  return (await queue.clean(olderThanMs, 0, 'failed')).length
}

export async function queueStats (queue: Queue): Promise<QueueStats> {
  const counts = await queue.getJobCounts('wait', 'prioritized', 'active', 'delayed', 'failed')
  // Producers push to the head of the wait list and workers take from its tail: ascending order starts at the oldest.
  const [oldest] = await queue.getJobs(['wait'], 0, 0, true)
  // A delayed job or a retry waits from when it became ready, not from when it was first added.
  const readySince = oldest === undefined ? undefined : Math.max(oldest.timestamp + (oldest.delay ?? 0), oldest.finishedOn ?? 0)
  return {
    queue: queue.name,
    waiting: (counts.wait ?? 0) + (counts.prioritized ?? 0),
    active: counts.active ?? 0,
    delayed: counts.delayed ?? 0,
    failed: counts.failed ?? 0,
    oldestWaitingSeconds: readySince === undefined ? 0 : Math.max(0, (Date.now() - readySince) / 1000),
  }
}

export async function jobInfo (queue: Queue, id: string): Promise<JobInfo | undefined> {
  const job = await queue.getJob(id)
  if (job === undefined) return undefined
  const state = await job.getState()
  const known = ['waiting', 'delayed', 'active', 'completed', 'failed'] as const
  const shown = state === 'prioritized' || state === 'waiting-children' ? 'waiting' : known.find((s) => s === state) ?? 'unknown'
  return { id, name: job.name, state: shown, progress: job.progress as JsonValue, attemptsMade: job.attemptsMade }
}
