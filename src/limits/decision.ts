import type { AttemptDecision, AttemptLimit } from '../runtime/ports.js'

/** The decision for an attempt that brought its window to `count`, which ends in `remainingMs`. */
export function decide (count: number, remainingMs: number, limit: AttemptLimit): AttemptDecision {
  const allowed = count <= limit.max
  return { allowed, count, retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil(remainingMs / 1000)) }
}
