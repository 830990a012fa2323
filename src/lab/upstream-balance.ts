import type { UpstreamStep } from './gateway-upstreams.js'

/**
 * Whether the gateway spread a step's responses evenly, and if not, what the gateway's own
 * metrics show as the cause: an instance under half its fair share was out of rotation for a
 * good part of the step, and the gateway takes an instance out for three reasons only.
 */

/** Below this fraction of its fair share (1 / instances) an upstream counts as starved. */
export const STARVED_BELOW = 0.5

const percent = (x: number): string => `${Math.round(x * 100)} %`

/** Why one upstream was out of rotation, as far as the gateway's metrics tell. */
export function starvationCause (u: UpstreamStep): string {
  const causes: string[] = []
  if (u.ejections > 0) causes.push(`ejected ${u.ejections} time${u.ejections === 1 ? '' : 's'} by outlier detection`)
  if (u.breakerOpen) causes.push('breaker open')
  // The gauge cannot tell a failed health check from an ejection; with no ejection in the step it
  // is the health checks, or an ejection begun before the step (they grow longer each time).
  if (u.outOfRotation && u.ejections === 0) causes.push(u.ejectionsTotal > 0 ? `out of rotation (unhealthy, or still ejected: ${u.ejectionsTotal} ejections before)` : 'unhealthy (out of rotation by its health checks)')
  return causes.length === 0 ? 'none visible in the gateway\'s metrics' : causes.join(', ')
}

/**
 * One line naming each upstream that got under half its fair share of the step's responses and
 * the cause; undefined when the balance was even (or there is nothing to compare: one upstream, no responses).
 */
export function unevenBalanceLine (upstreams: readonly UpstreamStep[] | undefined): string | undefined {
  if (upstreams === undefined || upstreams.length < 2) return undefined
  if (upstreams.every((u) => u.responses === 0)) return undefined
  const fair = 1 / upstreams.length
  const starved = upstreams.filter((u) => u.share < fair * STARVED_BELOW)
  if (starved.length === 0) return undefined
  return starved.map((u) => `${u.upstream} got ${percent(u.share)} of the responses (fair share ${percent(fair)}): ${starvationCause(u)}`).join('; ')
}
