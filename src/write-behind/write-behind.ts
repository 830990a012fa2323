import { OutgrowError } from '../errors/index.js'
import type { JsonValue, WriteBehind, WriteBehindApplier } from '../runtime/ports.js'

/** A write-behind adapter: appends from app code, applies where configured. */
export interface WriteBehindAdapter extends WriteBehind {
  /** Starts applying the queued writes in this process (worker processes; every process at levels 1–2). */
  process(): Promise<void>
  /** Stops applying (a batch under way finishes) and closes connections. */
  close(): Promise<void>
}

export type Appliers = Readonly<Record<string, WriteBehindApplier>>

/** The longest key a deferred write may have (it travels with every entry). */
export const MAX_KEY_LENGTH = 512

/**
 * Checks an append before anything is queued: a stream the service applies, a key, a JSON
 * payload. Returns the applier and the payload as JSON. Bad input is refused naming the field.
 */
export function checkAppend (appliers: Appliers, stream: string, key: string, payload: JsonValue): { applier: WriteBehindApplier, json: string } {
  const applier = Object.hasOwn(appliers, stream) ? appliers[stream] : undefined
  if (applier === undefined) {
    const known = Object.keys(appliers)
    throw new OutgrowError('OUTGROW_VALIDATION', `stream: no write-behind applier for "${stream}" (the service has ${known.length === 0 ? 'none' : known.join(', ')})`, { field: 'stream' })
  }
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new OutgrowError('OUTGROW_VALIDATION', `key: a string of 1 to ${MAX_KEY_LENGTH} characters, got ${typeof key === 'string' ? `${key.length} characters` : typeof key}`, { field: 'key' })
  }
  let json: string | undefined
  try {
    json = JSON.stringify(payload)
  } catch {}
  if (json === undefined) throw new OutgrowError('OUTGROW_VALIDATION', 'payload: must be a JSON value', { field: 'payload' })
  return { applier, json }
}

/** The partition of a key (FNV-1a): every write of one key goes to one partition, hence in order. */
export function partitionOf (key: string, partitions: number): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return (hash >>> 0) % partitions
}

/** Orders Redis stream ids ('<ms>-<seq>'): negative when a comes first. */
export function compareStreamIds (a: string, b: string): number {
  const [aMs = '0', aSeq = '0'] = a.split('-')
  const [bMs = '0', bSeq = '0'] = b.split('-')
  const ms = BigInt(aMs) - BigInt(bMs)
  if (ms !== 0n) return ms < 0n ? -1 : 1
  const seq = BigInt(aSeq) - BigInt(bSeq)
  return seq === 0n ? 0 : seq < 0n ? -1 : 1
}
