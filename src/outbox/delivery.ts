import type { EnqueueOptions, JsonValue } from '../runtime/ports.js'
import type { PublishOptions } from '../events/bus.js'

/** An outbox entry as the relay reads it. */
export interface OutboxRow {
  readonly id: string
  readonly kind: 'job' | 'event'
  readonly name: string
  readonly payload: JsonValue
  readonly options: Readonly<Record<string, unknown>>
}

/** The id an entry's job or event gets when its writer gave none: fixed by the entry, so every redelivery carries it. */
export function derivedId (rowId: string): string {
  return `outbox-${rowId}`
}

/** The outbox entry a derived id names, if it is one. */
export function rowIdOf (id: string): string | undefined {
  const match = /^outbox-(\d+)$/.exec(id)
  return match?.[1]
}

export type Delivery =
  | { readonly kind: 'job', readonly name: string, readonly payload: JsonValue, readonly options: EnqueueOptions & { readonly jobId: string } }
  | { readonly kind: 'event', readonly topic: string, readonly data: JsonValue, readonly options: PublishOptions & { readonly id: string } }

const text = (value: unknown): string | undefined => typeof value === 'string' ? value : undefined

/** What handing an entry on means: an enqueue with a fixed job id, or a publish with a fixed event id. */
export function deliveryOf (row: OutboxRow): Delivery {
  const o = row.options
  if (row.kind === 'job') {
    const attempts = typeof o.attempts === 'number' ? o.attempts : undefined
    return { kind: 'job', name: row.name, payload: row.payload, options: { jobId: text(o.jobId) ?? derivedId(row.id), ...(attempts === undefined ? {} : { attempts }) } }
  }
  const key = text(o.key)
  const type = text(o.type)
  return {
    kind: 'event', topic: row.name, data: row.payload,
    options: { id: text(o.id) ?? derivedId(row.id), ...(key === undefined ? {} : { key }), ...(type === undefined ? {} : { type }) },
  }
}
