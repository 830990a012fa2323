/**
 * HA timing and election settings, with the invariants that make them safe enforced by the schema
 * (docs/ha.md, "Timing"). All durations in milliseconds.
 */
import { z } from 'zod'

export const haConfigSchema = z.object({
  /** Leader lease length: how long after its last renewal a silent leader keeps the key. */
  ttlMs: z.number().int().min(1000).default(3000),
  /** Pause between two cycles of the agent's loop. */
  loopWaitMs: z.number().int().min(50).default(500),
  /** How long one DCS (or PostgreSQL) request may take before the agent gives up on it. */
  retryTimeoutMs: z.number().int().min(50).default(1000),
  /** A leader stops accepting writes this long before its lease can expire. */
  safetyMarginMs: z.number().int().min(0).default(500),
  /** Upper bound on the time a fence takes to take effect (reload + terminating write sessions). */
  fenceTimeoutMs: z.number().int().min(0).default(200),
  /** Largest rate difference between a node's clock and the DCS's clock (0.01 = 1 %). */
  maxClockDriftRate: z.number().min(0).max(0.05).default(0.01),
  /** Asynchronous mode: a replica further behind the leader's last optime than this never races. */
  maximumLagOnFailover: z.number().int().min(0).default(1_048_576),
  /** Commits are acknowledged only once on a synchronous standby, and only sync standbys may take over. */
  synchronousMode: z.boolean().default(true),
  /**
   * Synchronous mode with no healthy standby: strict keeps commits waiting (never acknowledged on the
   * primary alone); non-strict (Patroni's default) empties the sync key first — no standby may then
   * take over — and lets the primary acknowledge alone until a standby has caught up again.
   */
  synchronousModeStrict: z.boolean().default(false),
}).strict().superRefine((c, ctx) => {
  const fenceAfter = c.ttlMs - c.safetyMarginMs
  if (c.loopWaitMs + 2 * c.retryTimeoutMs > fenceAfter) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      path: ['loopWaitMs'],
      message: `loopWaitMs + 2 * retryTimeoutMs (${c.loopWaitMs + 2 * c.retryTimeoutMs}) must be <= ttlMs - safetyMarginMs (${fenceAfter}), or one slow DCS request fences a healthy leader`,
    })
  }
  const needed = c.fenceTimeoutMs + Math.ceil(2 * c.maxClockDriftRate * c.ttlMs)
  if (c.safetyMarginMs < needed) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      path: ['safetyMarginMs'],
      message: `safetyMarginMs must be >= fenceTimeoutMs + 2 * maxClockDriftRate * ttlMs (${needed}), or a fence may land after the lease expired`,
    })
  }
})

export type HaConfig = z.output<typeof haConfigSchema>
export type HaConfigInput = z.input<typeof haConfigSchema>

/** Parses and checks `input`; throws a ZodError naming the field when an invariant is broken. */
export function haConfig (input: HaConfigInput = {}): HaConfig {
  return haConfigSchema.parse(input)
}

/** How long after the start of its last successful renewal a leader may still accept writes. */
export function writableForMs (config: HaConfig): number {
  return config.ttlMs - config.safetyMarginMs
}
