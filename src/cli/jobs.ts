import { ControlClient } from '../control/client.js'
import { parseDuration } from '../control/jobs-routes.js'
import type { QueuedDeadLetter } from '../control/stack-jobs.js'
import type { QueueStats } from '../jobs/queue.js'
import { OutgrowError } from '../errors/index.js'
import { table, type TargetOptions } from './control.js'
import { resolveDataDir } from './data-dir.js'

const client = (options: TargetOptions): ControlClient => ControlClient.forDataDir(resolveDataDir(options))
const out = (text: string): void => { process.stdout.write(text.endsWith('\n') ? text : `${text}\n`) }
const queueField = (queue: string | undefined): { queue?: string } => queue === undefined ? {} : { queue }

/** `outgrow jobs failed [--queue q] [--json]`: the dead letters, newest first. */
export async function jobsFailed (options: TargetOptions & { queue?: string, json?: boolean, limit: number }): Promise<void> {
  const params = new URLSearchParams({ limit: String(options.limit), ...queueField(options.queue) })
  const { deadLetters } = await client(options).call<{ deadLetters: QueuedDeadLetter[] }>('GET', `/v1/jobs/failed?${params.toString()}`)
  if (options.json === true) { out(JSON.stringify(deadLetters, null, 2)); return }
  if (deadLetters.length === 0) { out('no dead letters'); return }
  out(table([['ID', 'NAME', 'QUEUE', 'FAILED AT', 'ATTEMPTS', 'ERROR'], ...deadLetters.map((d) => [d.id, d.name, d.queue, d.failedAt, String(d.attempts), d.error.split('\n')[0] ?? ''])]))
}

/** `outgrow jobs retry <id> | --all [--queue q]`. */
export async function jobsRetry (id: string | undefined, options: TargetOptions & { all?: boolean, queue?: string }): Promise<void> {
  if ((id === undefined) === (options.all !== true)) throw new OutgrowError('OUTGROW_VALIDATION', 'name one dead letter (outgrow jobs retry <id>) or all of them (outgrow jobs retry --all)')
  const body = id === undefined ? { all: true, ...queueField(options.queue) } : { id, ...queueField(options.queue) }
  const r = await client(options).call<{ retried: number, queue?: string }>('POST', '/v1/jobs/retry', body)
  out(id === undefined ? `retried ${r.retried} dead letter${r.retried === 1 ? '' : 's'}` : `retried ${id} (queue ${r.queue ?? '-'})`)
}

/** `outgrow jobs purge [--older-than 1h] [--queue q]`. */
export async function jobsPurge (options: TargetOptions & { olderThan?: string, queue?: string }): Promise<void> {
  const olderThanMs = options.olderThan === undefined ? 0 : parseDuration(options.olderThan)
  const r = await client(options).call<{ purged: number }>('POST', '/v1/jobs/purge', { olderThanMs, ...queueField(options.queue) })
  out(`purged ${r.purged} dead letter${r.purged === 1 ? '' : 's'}`)
}

/** `outgrow jobs stats [--json]`: per queue, jobs waiting, active, delayed, failed and the oldest waiting job's age. */
export async function jobsStats (options: TargetOptions & { json?: boolean }): Promise<void> {
  const { queues } = await client(options).call<{ queues: QueueStats[] }>('GET', '/v1/jobs/stats')
  if (options.json === true) { out(JSON.stringify(queues, null, 2)); return }
  out(table([['QUEUE', 'WAITING', 'ACTIVE', 'DELAYED', 'FAILED', 'OLDEST WAITING'], ...queues.map((q) => [q.queue, String(q.waiting), String(q.active), String(q.delayed), String(q.failed), `${q.oldestWaitingSeconds.toFixed(1)} s`])]))
}
