import { randomUUID } from 'node:crypto'
import { OutgrowError } from '../errors/index.js'
import type { JsonValue } from '../runtime/ports.js'
import { DEFAULT_SUBSCRIBE_OPTIONS, type EventEnvelope, type PublishOptions, type SubscribeOptions } from './bus.js'

/** An envelope as stored by a backend: everything but the per-group delivery count. */
export type StoredEnvelope = Omit<EventEnvelope, 'deliveries'>

/**
 * Topics are dot-separated words (`order.placed`), so that they are valid as NATS subjects and
 * Redis key parts alike; groups are one word, valid as a JetStream durable name.
 */
const TOPIC = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/
const GROUP = /^[A-Za-z0-9_-]+$/
const MAX_NAME = 200

function invalid (field: string, message: string): OutgrowError {
  return new OutgrowError('OUTGROW_VALIDATION', `${field}: ${message}`, { field })
}

export function checkTopic (topic: unknown, field = 'topic'): string {
  if (typeof topic !== 'string' || topic.length === 0) throw invalid(field, 'must be a non-empty string')
  if (topic.length > MAX_NAME || !TOPIC.test(topic)) throw invalid(field, `"${topic.slice(0, MAX_NAME)}" is not dot-separated words of letters, digits, _ and - (at most ${MAX_NAME} characters)`)
  return topic
}

export function checkGroup (group: unknown): string {
  if (typeof group !== 'string' || group.length === 0) throw invalid('group', 'must be a non-empty string')
  if (group.length > MAX_NAME || !GROUP.test(group)) throw invalid('group', `"${group.slice(0, MAX_NAME)}" is not one word of letters, digits, _ and - (at most ${MAX_NAME} characters)`)
  return group
}

/**
 * Refuses what JSON would change or drop (undefined, functions, NaN, dates, class instances,
 * cycles), naming the first offending path: a consumer must get exactly what was published.
 */
export function checkJson (value: unknown, path: string, seen: Set<object> = new Set()): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalid(path, `${value} is not a JSON number`)
    return
  }
  if (typeof value !== 'object') throw invalid(path, `a ${typeof value} is not JSON`)
  if (seen.has(value)) throw invalid(path, 'a circular reference is not JSON')
  seen.add(value)
  if (Array.isArray(value)) {
    value.forEach((item, i) => { checkJson(item, `${path}[${i}]`, seen) })
  } else {
    const proto = Object.getPrototypeOf(value) as unknown
    if (proto !== Object.prototype && proto !== null) throw invalid(path, `a ${value.constructor?.name ?? 'class'} instance is not plain JSON`)
    for (const [k, v] of Object.entries(value)) checkJson(v, `${path}.${k}`, seen)
  }
  seen.delete(value)
}

function checkOptionalName (value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_NAME) throw invalid(field, `must be a non-empty string of at most ${MAX_NAME} characters`)
  return value
}

/** A validated envelope for publish; throws OUTGROW_VALIDATION (nothing published) on bad input. */
export function makeEnvelope (topic: string, data: JsonValue, options: PublishOptions = {}): StoredEnvelope {
  checkTopic(topic)
  checkJson(data, 'data')
  const key = checkOptionalName(options.key, 'key')
  const id = checkOptionalName(options.id, 'id') ?? randomUUID()
  const type = checkOptionalName(options.type, 'type') ?? topic
  return { id, topic, ...(key === undefined ? {} : { key }), time: new Date().toISOString(), type, data }
}

export interface ResolvedSubscribeOptions {
  readonly concurrency: number
  readonly maxDeliveries: number
  readonly ackWaitMs: number
}

function positiveInt (value: unknown, field: string, fallback: number, max: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) throw invalid(field, `must be an integer from 1 to ${max}`)
  return value
}

export function resolveSubscribeOptions (options: SubscribeOptions = {}): ResolvedSubscribeOptions {
  return {
    concurrency: positiveInt(options.concurrency, 'concurrency', DEFAULT_SUBSCRIBE_OPTIONS.concurrency, 1000),
    maxDeliveries: positiveInt(options.maxDeliveries, 'maxDeliveries', DEFAULT_SUBSCRIBE_OPTIONS.maxDeliveries, 1000),
    ackWaitMs: Math.max(100, positiveInt(options.ackWaitMs, 'ackWaitMs', DEFAULT_SUBSCRIBE_OPTIONS.ackWaitMs, 3_600_000)),
  }
}

export function serializeEnvelope (envelope: StoredEnvelope): string {
  return JSON.stringify(envelope)
}

/** Parses what a backend stored; an entry that is not an envelope (written by something else) gives undefined. */
export function parseEnvelope (text: string): StoredEnvelope | undefined {
  try {
    const value = JSON.parse(text) as Partial<StoredEnvelope> | null
    if (value === null || typeof value !== 'object' || typeof value.id !== 'string' || typeof value.topic !== 'string') return undefined
    return value as StoredEnvelope
  } catch {
    return undefined
  }
}

export function checkHandler (handler: unknown): void {
  if (typeof handler !== 'function') throw invalid('handler', 'must be a function')
}
