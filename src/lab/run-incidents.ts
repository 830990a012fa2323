import type { StackEvent } from '../control/event-log.js'
import type { UpstreamStep } from './gateway-upstreams.js'

/**
 * What happened to a stack while its capacity was searched, beyond the load: a process that exited
 * (and was restarted) or a PostgreSQL leader change. Either one disturbs the steps around it, so
 * the report puts it next to the step it fell in instead of leaving a dip unexplained.
 */
export interface RunIncident {
  /** Seconds since the stack was up. */
  readonly atSeconds: number
  /** Index of the search step in progress (steps completed before it); -1 before the search began. */
  readonly step: number
  readonly what: string
}

/**
 * A filter for events that disturb a measurement: exits, and leader changes after a cluster's first
 * leader was seen (that first one is the stack coming up). Start-up, scaling and requests are not.
 */
export function incidentFilter (): (event: Pick<StackEvent, 'actor' | 'action' | 'target'>) => boolean {
  const led = new Set<string>()
  return (event) => {
    if (event.action === 'exited') return true
    if (event.actor !== 'ha' || event.action !== 'leader') return false
    const cluster = event.target ?? ''
    if (led.has(cluster)) return true
    led.add(cluster)
    return false
  }
}

export function describeIncident (event: Pick<StackEvent, 'action' | 'target' | 'detail'>): string {
  const what = event.action === 'exited' ? `${event.target ?? 'a process'} exited` : `${event.target ?? 'postgres'}`
  return event.detail === undefined || event.detail === '' ? what : `${what}: ${event.detail}`
}

/**
 * What the gateway did to its instances during one step, from the step's counter differences: each
 * ejection takes an instance out of rotation (for longer each time), an open breaker refuses it
 * requests; either one shifts the step's load onto the others.
 */
export function gatewayIncidents (upstreams: readonly UpstreamStep[] | undefined): string[] {
  if (upstreams === undefined) return []
  return upstreams.flatMap((u) => [
    ...u.ejections > 0 ? [`gateway ejected ${u.upstream} (${u.ejections}×${ejectionReasons(u.ejectionsBy)})`] : [],
    ...u.breakerOpen ? [`gateway's breaker for ${u.upstream} open`] : [],
  ])
}

const REASON_WORDS: Readonly<Record<string, string>> = { consecutive: 'failures in a row', failure_rate: 'failure rate', latency: 'slow' }

/** `: slow 2, failure rate 1`, or nothing when the gateway gave no reasons. */
function ejectionReasons (by: Readonly<Record<string, number>>): string {
  const parts = Object.entries(by).filter(([, n]) => n > 0).map(([reason, n]) => `${REASON_WORDS[reason] ?? reason} ${n}`)
  return parts.length === 0 ? '' : `: ${parts.join(', ')}`
}

/** One line for the report: where each incident fell among the steps. */
export function incidentsLine (incidents: readonly RunIncident[] | undefined): string {
  if (incidents === undefined || incidents.length === 0) return ''
  return ` ⚠ ${incidents.map((i) => `${i.step < 0 ? 'before the search' : `in step ${i.step + 1}`} (${i.atSeconds} s): ${i.what}`).join('; ')}`
}
