import { OutgrowError } from '../errors/index.js'
import { checkJson, checkTopic } from '../events/envelope.js'
import type { PublishOptions } from '../events/bus.js'
import type { EnqueueOptions, JsonValue, Outbox, Queryable } from '../runtime/ports.js'
import { OUTBOX_TABLE } from './outbox-table.js'

const MAX_NAME = 200

function invalid (field: string, message: string): OutgrowError {
  return new OutgrowError('OUTGROW_VALIDATION', `outbox ${field}: ${message}`, { field })
}

function optionalName (value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_NAME) throw invalid(field, `must be a non-empty string of at most ${MAX_NAME} characters`)
  return value
}

/** An entry as written: what the relay needs to deliver it, checked before anything is written. */
export interface OutboxEntryInput {
  readonly kind: 'job' | 'event'
  readonly name: string
  readonly payload: JsonValue
  readonly options: { readonly [key: string]: string | number }
  /** A job's own id, if its writer gave one (the relay derives one otherwise). */
  readonly jobId: string | undefined
}

export function jobEntry (name: unknown, payload: unknown, options: EnqueueOptions = {}): OutboxEntryInput {
  const jobName = optionalName(name, 'job name')
  if (jobName === undefined) throw invalid('job name', 'must be a non-empty string')
  checkJson(payload, 'payload')
  const jobId = optionalName(options.jobId, 'jobId')
  const attempts = options.attempts
  if (attempts !== undefined && (!Number.isInteger(attempts) || attempts < 1 || attempts > 1000)) throw invalid('attempts', 'must be an integer from 1 to 1000')
  return {
    kind: 'job', name: jobName, payload: payload as JsonValue, jobId,
    options: { ...(jobId === undefined ? {} : { jobId }), ...(attempts === undefined ? {} : { attempts }) },
  }
}

export function eventEntry (topic: unknown, data: unknown, options: PublishOptions = {}): OutboxEntryInput {
  const checked = checkTopic(topic)
  checkJson(data, 'data')
  const key = optionalName(options.key, 'key')
  const id = optionalName(options.id, 'id')
  const type = optionalName(options.type, 'type')
  return {
    kind: 'event', name: checked, payload: data as JsonValue, jobId: undefined,
    options: { ...(key === undefined ? {} : { key }), ...(id === undefined ? {} : { id }), ...(type === undefined ? {} : { type }) },
  }
}

/** Rows per INSERT: five parameters each, well under PostgreSQL's 65 535 per statement. */
const ROWS_PER_STATEMENT = 1000

/** An entry as its row's parameters, serialized when it is given: a payload changed later is not what is written. */
function rowOf (entry: OutboxEntryInput): readonly unknown[] {
  return [entry.kind, entry.name, JSON.stringify(entry.payload), JSON.stringify(entry.options), entry.jobId ?? null]
}

/** Writes rows through the transaction, many per statement; they commit or roll back with its change. */
async function writeRows (tx: Queryable, rows: ReadonlyArray<readonly unknown[]>): Promise<void> {
  for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
    const params: unknown[] = []
    const values = rows.slice(start, start + ROWS_PER_STATEMENT).map((row) => {
      const at = params.length
      params.push(...row)
      return `($${at + 1}, $${at + 2}, $${at + 3}, $${at + 4}, $${at + 5})`
    })
    await tx.query(`INSERT INTO ${OUTBOX_TABLE} (kind, name, payload, options, job_id) VALUES ${values.join(', ')}`, params)
  }
}

/**
 * The outbox of one transaction (Transaction.outbox). Entries are checked and serialized when they
 * are given (bad input throws and is not kept) and written by `flush`, which the transaction calls
 * before its next statement and before COMMIT: they land among the statements where they were given,
 * and entries given one after another share one INSERT, so one round trip.
 */
export function deferredOutbox (tx: Queryable): { outbox: Outbox, flush: () => Promise<void> } {
  let pending: Array<readonly unknown[]> = []
  return {
    outbox: {
      job: async (name, payload, options) => { pending.push(rowOf(jobEntry(name, payload, options))) },
      event: async (topic, data, options) => { pending.push(rowOf(eventEntry(topic, data, options))) },
    },
    flush: async () => {
      if (pending.length === 0) return
      const rows = pending
      pending = []
      await writeRows(tx, rows)
    },
  }
}
