/**
 * The verdict of a chaos run, as a pure function of what was recorded: the client's ack log and
 * request counts, the probe rounds over the PostgreSQL nodes, and what the database holds at the
 * end (read directly on the primary, as Jepsen does). Times are milliseconds since the run began.
 */

/** One acknowledged order: the client got a 2xx for this Idempotency-Key. */
export interface Ack {
  readonly key: string
  readonly orderId: number
  /** When the attempt that was acknowledged was sent. */
  readonly sentAt: number
  /** When its 2xx arrived. */
  readonly ackedAt: number
}

/** One probe round: every PostgreSQL node asked at about the same instant. */
export interface ProbeRound {
  readonly at: number
  /** Nodes that answered: not in recovery and not read-only. */
  readonly writable: readonly string[]
  /** Nodes that did not answer in time. */
  readonly unreachable: readonly string[]
}

/** Requests by kind (`login`, `add`, `checkout`, `read`): how many were sent, and failures by reason. */
export interface RequestCounts {
  readonly sent: Readonly<Record<string, number>>
  /** kind → reason (`503`, `net:ECONNREFUSED`, `timeout`) → count. */
  readonly failed: Readonly<Record<string, Readonly<Record<string, number>>>>
}

/** How the client's orders ended. */
export interface OrderOutcomes {
  /** Orders a client started (each with its own key). */
  readonly started: number
  /** Refused with an answer that retrying cannot change (e.g. 409 cart empty). */
  readonly refused: number
  /** Still unanswered at the client's deadline: they may or may not have been placed. */
  readonly indeterminate: number
  /** Never checked out: the cart add did not succeed before the deadline. */
  readonly abandoned: number
}

export interface VerdictInput {
  readonly scenario: string
  readonly target: string
  readonly faultAt: number
  readonly endedAt: number
  readonly acks: readonly Ack[]
  readonly requests: RequestCounts
  readonly orders: OrderOutcomes
  readonly probes: readonly ProbeRound[]
  /** Idempotency key → ids of the orders the database holds for it (the run's keys only). */
  readonly database: ReadonlyMap<string, readonly number[]>
}

export interface Verdict {
  readonly scenario: string
  readonly target: string
  readonly faultAtMs: number
  readonly durationMs: number
  readonly requests: { readonly sent: number, readonly failed: number, readonly byKind: Readonly<Record<string, { sent: number, failed: number, reasons: Readonly<Record<string, number>> }>> }
  readonly orders: OrderOutcomes & { readonly acknowledged: number, readonly unacknowledgedButPlaced: number }
  /** From the fault to the first acknowledged write sent after it; null when none was. */
  readonly writesRecoveredAfterMs: number | null
  readonly lost: number
  readonly duplicates: number
  readonly twoPrimaryInstants: number
  readonly noPrimaryInstants: number
  readonly probeRounds: number
  readonly reads: { readonly sent: number, readonly failed: number }
  /** Up to 10 keys of each kind, to look up. */
  readonly examples: { readonly lost: readonly string[], readonly duplicates: readonly string[] }
  readonly safe: boolean
  /** Why the run is not safe; empty when it is. */
  readonly violations: readonly string[]
}

const sum = (values: Iterable<number>): number => { let n = 0; for (const v of values) n += v; return n }

export function computeVerdict (input: VerdictInput): Verdict {
  // An acknowledged order is lost when the database has no order with its key and id.
  const lostKeys = input.acks.filter((a) => !(input.database.get(a.key) ?? []).includes(a.orderId)).map((a) => a.key)
  const duplicateKeys = [...input.database].filter(([, ids]) => ids.length > 1).map(([key]) => key)
  const ackedKeys = new Set(input.acks.map((a) => a.key))
  const unacknowledgedButPlaced = [...input.database.keys()].filter((k) => !ackedKeys.has(k)).length
  const after = input.acks.filter((a) => a.sentAt >= input.faultAt).map((a) => a.ackedAt)
  const recovered = after.length === 0 ? null : Math.max(0, Math.min(...after) - input.faultAt)
  const twoPrimaries = input.probes.filter((p) => p.writable.length > 1).length
  const noPrimary = input.probes.filter((p) => p.writable.length === 0).length
  const byKind: Record<string, { sent: number, failed: number, reasons: Record<string, number> }> = {}
  for (const kind of new Set([...Object.keys(input.requests.sent), ...Object.keys(input.requests.failed)])) {
    const reasons = input.requests.failed[kind] ?? {}
    byKind[kind] = { sent: input.requests.sent[kind] ?? 0, failed: sum(Object.values(reasons)), reasons: { ...reasons } }
  }
  const violations: string[] = []
  if (lostKeys.length > 0) violations.push(`${lostKeys.length} acknowledged order(s) lost`)
  if (duplicateKeys.length > 0) violations.push(`${duplicateKeys.length} idempotency key(s) with more than one order`)
  if (twoPrimaries > 0) violations.push(`${twoPrimaries} instant(s) with two writable primaries`)
  return {
    scenario: input.scenario,
    target: input.target,
    faultAtMs: Math.round(input.faultAt),
    durationMs: Math.round(input.endedAt),
    requests: { sent: sum(Object.values(byKind).map((k) => k.sent)), failed: sum(Object.values(byKind).map((k) => k.failed)), byKind },
    orders: { ...input.orders, acknowledged: input.acks.length, unacknowledgedButPlaced },
    writesRecoveredAfterMs: recovered === null ? null : Math.round(recovered),
    lost: lostKeys.length,
    duplicates: duplicateKeys.length,
    twoPrimaryInstants: twoPrimaries,
    noPrimaryInstants: noPrimary,
    probeRounds: input.probes.length,
    reads: { sent: byKind.read?.sent ?? 0, failed: byKind.read?.failed ?? 0 },
    examples: { lost: lostKeys.slice(0, 10), duplicates: duplicateKeys.slice(0, 10) },
    safe: violations.length === 0,
    violations,
  }
}
