import { parseEnvelope, type StoredEnvelope } from './envelope.js'

/** The one field of a stream entry: the envelope as JSON. */
export const ENVELOPE_FIELD = 'e'

/** An entry of a stream, as XREADGROUP / XCLAIM / XAUTOCLAIM return it: [id, [field, value, …]]. */
export type RawEntry = [string, string[] | null]

export interface StreamEntry {
  readonly id: string
  /** Undefined for an entry that is not an envelope, or was trimmed away while pending. */
  readonly envelope: StoredEnvelope | undefined
}

export function parseEntries (raw: unknown): StreamEntry[] {
  if (!Array.isArray(raw)) return []
  return (raw as RawEntry[]).map(([id, fields]) => {
    const at = fields === null ? -1 : fields.indexOf(ENVELOPE_FIELD)
    const text = at >= 0 && fields !== null ? fields[at + 1] : undefined
    return { id, envelope: text === undefined ? undefined : parseEnvelope(text) }
  })
}

/**
 * XREADGROUP's reply for one stream: [[key, entries]] (RESP2), [key, entries] (a RESP3 map as the
 * client flattens it), or null when BLOCK timed out.
 */
export function entriesOfRead (reply: unknown): StreamEntry[] {
  if (!Array.isArray(reply) || reply.length === 0) return []
  if (typeof reply[0] === 'string' || Buffer.isBuffer(reply[0])) return parseEntries(reply[1])
  const first = reply[0] as [string, unknown]
  return parseEntries(first[1])
}

/** Delivery counts by entry id from an extended XPENDING reply: [[id, consumer, idle, count], …]. */
export function deliveryCounts (reply: unknown): Map<string, number> {
  const counts = new Map<string, number>()
  if (!Array.isArray(reply)) return counts
  for (const row of reply as Array<[string, string, number, number]>) counts.set(row[0], Number(row[3]))
  return counts
}
