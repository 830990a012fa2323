import { OutgrowError } from '../errors/index.js'
import { BullMqQueue } from '../jobs/bullmq-queue.js'
import type { DeadLetter, JobQueue, QueueStats } from '../jobs/queue.js'
import type { RedisTarget } from '../runtime/redis-client.js'

export type QueuedDeadLetter = DeadLetter & { readonly queue: string }

/**
 * The supervisor's view of the stack's job queues, for `outgrow jobs`: it reaches the queue's
 * Redis itself (level 4), as a producer that runs no jobs. An in-process queue (levels 1–3)
 * lives inside an app instance, where only that instance's /metrics shows it.
 */
export class StackJobs {
  readonly #target: () => RedisTarget | undefined
  readonly #names: () => readonly string[]
  readonly #queues = new Map<string, JobQueue>()
  #closed = false

  constructor (target: () => RedisTarget | undefined, names: () => readonly string[]) {
    this.#target = target
    this.#names = names
  }

  /** The named queue, or every queue of the stack. */
  #select (queue?: string): JobQueue[] {
    // Closed with the stack: a late caller (the dashboard's last sample) must not open a connection again.
    if (this.#closed) throw new OutgrowError('OUTGROW_SHUTTING_DOWN', 'the stack is stopping')
    const target = this.#target()
    const names = this.#names()
    if (target === undefined || names.length === 0) {
      throw new OutgrowError('OUTGROW_JOB_QUEUE_UNAVAILABLE', 'this stack runs its jobs inside the app instances (no queue server): their dead letters and depth are on each instance\'s /metrics (outgrow_job_queue_jobs); outgrow jobs needs the Redis queue of level 4')
    }
    if (queue !== undefined && !names.includes(queue)) throw new OutgrowError('OUTGROW_NOT_FOUND', `no job queue ${queue} (have: ${names.join(', ')})`)
    return (queue === undefined ? names : [queue]).map((name) => {
      let q = this.#queues.get(name)
      if (q === undefined) this.#queues.set(name, q = new BullMqQueue(target, name, 1))
      return q
    })
  }

  async stats (): Promise<QueueStats[]> {
    return await Promise.all(this.#select().map(async (q) => await q.stats()))
  }

  async failed (queue: string | undefined, limit: number): Promise<QueuedDeadLetter[]> {
    const lists = await Promise.all(this.#select(queue).map(async (q) => (await q.failed(limit)).map((d) => ({ ...d, queue: q.name }))))
    return lists.flat().sort((a, b) => b.failedAt.localeCompare(a.failedAt)).slice(0, limit)
  }

  /** Retries one dead letter by id (in whichever queue holds it); OUTGROW_NOT_FOUND when none does. */
  async retry (id: string, queue?: string): Promise<{ queue: string }> {
    for (const q of this.#select(queue)) if (await q.retry(id)) return { queue: q.name }
    throw new OutgrowError('OUTGROW_NOT_FOUND', `no dead letter ${id}${queue === undefined ? '' : ` in ${queue}`}: see outgrow jobs failed`)
  }

  async retryAll (queue?: string): Promise<number> {
    let retried = 0
    for (const q of this.#select(queue)) retried += await q.retryAll()
    return retried
  }

  async purge (olderThanMs: number, queue?: string): Promise<number> {
    let purged = 0
    for (const q of this.#select(queue)) purged += await q.purge(olderThanMs)
    return purged
  }

  async close (): Promise<void> {
    this.#closed = true
    await Promise.allSettled([...this.#queues.values()].map(async (q) => { await q.close() }))
    this.#queues.clear()
  }
}
