import type { Sample } from './prometheus-text.js'
import { scrapeSamples } from './server-stats.js'

/**
 * What the gateway knew about each instance behind it over one step, from its per-upstream
 * metrics (src/gateway/upstream-metrics.ts) scraped at the step's start and end: who got the
 * responses, who failed how, who was ejected, who was out of rotation.
 */

/** One scrape's per-upstream readings (counters are totals since the gateway started). */
export interface UpstreamReading {
  readonly responses: number
  readonly failures: Readonly<Record<string, number>>
  readonly ejections: number
  /** Ejections by reason (the gateway's `reason` label); a reading without the label has none. */
  readonly ejectionsBy: Readonly<Record<string, number>>
  readonly healthy: boolean
  /** 0 closed, 0.5 half-open, 1 open. */
  readonly breaker: number
}

/** One scrape of the gateway, by upstream id (the instance's name, e.g. app-2). */
export type GatewayReading = Readonly<Record<string, UpstreamReading>>

/** One upstream over a step: differences of its counters, and its state when sampled. */
export interface UpstreamStep {
  readonly upstream: string
  readonly responses: number
  /** Its responses over all upstreams' responses in the step (0 when there were none). */
  readonly share: number
  /** Failed attempts by kind (connect, timeout, reset, status); kinds with none are left out. */
  readonly failures: Readonly<Record<string, number>>
  readonly ejections: number
  /** The step's ejections by reason (consecutive, failure_rate, latency); reasons with none are left out. */
  readonly ejectionsBy: Readonly<Record<string, number>>
  /** Ejections since the gateway started (how long each lasts follows the recent streak: outlier-detector.ts). */
  readonly ejectionsTotal: number
  /**
   * Not taking new requests at the end of the step or at any sample taken: the gateway's `healthy`
   * gauge is 0 both when the instance fails its active health checks and while it is ejected.
   */
  readonly outOfRotation: boolean
  /** Its breaker open (or half-open) at the end of the step, or at any sample taken. */
  readonly breakerOpen: boolean
}

const mutable = (): { responses: number, failures: Record<string, number>, ejections: number, ejectionsBy: Record<string, number>, healthy: boolean, breaker: number } =>
  ({ responses: 0, failures: {}, ejections: 0, ejectionsBy: {}, healthy: true, breaker: 0 })

/** The per-upstream families of one scrape. */
export function gatewayReading (samples: readonly Sample[]): GatewayReading {
  const byUpstream: Record<string, ReturnType<typeof mutable>> = {}
  for (const s of samples) {
    const id = s.labels.upstream
    if (id === undefined || !s.name.startsWith('outgrow_gateway_')) continue
    const u = byUpstream[id] ??= mutable()
    if (s.name === 'outgrow_gateway_requests_total') u.responses += s.value
    else if (s.name === 'outgrow_gateway_upstream_failures_total') u.failures[s.labels.kind ?? 'other'] = (u.failures[s.labels.kind ?? 'other'] ?? 0) + s.value
    else if (s.name === 'outgrow_gateway_upstream_ejections_total') {
      u.ejections += s.value
      if (s.labels.reason !== undefined) u.ejectionsBy[s.labels.reason] = (u.ejectionsBy[s.labels.reason] ?? 0) + s.value
    }
    else if (s.name === 'outgrow_gateway_upstream_healthy') u.healthy = s.value > 0
    else if (s.name === 'outgrow_gateway_upstream_breaker_open') u.breaker = s.value
  }
  return byUpstream
}

/**
 * Each upstream over a step: counters of `after` minus those of `before` (an upstream missing
 * from `before` joined during the step and counts from zero; one missing from `after` left and is
 * not reported), and the state at the end or at any of `samples` taken in between.
 */
export function upstreamsBetween (before: GatewayReading, after: GatewayReading, samples: readonly GatewayReading[] = []): UpstreamStep[] {
  // A counter lower than before means the gateway restarted: its whole total is since then.
  const delta = (end: number, start: number | undefined): number => end < (start ?? 0) ? end : end - (start ?? 0)
  const rows = Object.entries(after).map(([upstream, end]) => {
    const start = before[upstream]
    // Counters by label (failure kind, ejection reason): the ones that rose in the step.
    const rose = (ends: Readonly<Record<string, number>>, starts: Readonly<Record<string, number>> | undefined): Record<string, number> =>
      Object.fromEntries(Object.entries(ends).map(([label, n]) => [label, delta(n, starts?.[label])] as const).filter(([, d]) => d > 0))
    const failures = rose(end.failures, start?.failures)
    const ejectionsBy = rose(end.ejectionsBy, start?.ejectionsBy)
    const seen = [...samples.map((s) => s[upstream]).filter((r) => r !== undefined), end]
    return {
      upstream, responses: delta(end.responses, start?.responses), failures, ejections: delta(end.ejections, start?.ejections), ejectionsBy, ejectionsTotal: end.ejections,
      outOfRotation: seen.some((r) => !r.healthy), breakerOpen: seen.some((r) => r.breaker > 0),
    }
  })
  const total = rows.reduce((sum, r) => sum + r.responses, 0)
  return rows.map((r) => ({ ...r, share: total === 0 ? 0 : Math.round(r.responses / total * 1000) / 1000 }))
    .sort((a, b) => a.upstream.localeCompare(b.upstream, 'en', { numeric: true }))
}

/** Scrapes the gateway at the start, every `everyMs` (if given), and at the end of a step. */
export interface GatewayWatch {
  finish(): Promise<UpstreamStep[] | undefined>
}

/**
 * Starts watching a gateway's metrics for one step. Undefined readings (no gateway, or a scrape
 * that failed) make the step's upstreams undefined rather than wrong.
 */
export function watchGateway (metricsUrl: string | undefined, everyMs?: number): GatewayWatch {
  if (metricsUrl === undefined) return { finish: async () => undefined }
  const read = async (): Promise<GatewayReading | undefined> => {
    const samples = await scrapeSamples(metricsUrl)
    return samples.length === 0 ? undefined : gatewayReading(samples)
  }
  const first = read()
  const between: GatewayReading[] = []
  // Unref'd: a sample is a few hundred bytes of text from the gateway, never a reason to stay up.
  const timer = everyMs === undefined ? undefined : setInterval(() => { void read().then((r) => { if (r !== undefined) between.push(r) }) }, everyMs)
  timer?.unref()
  return {
    finish: async () => {
      clearInterval(timer)
      const [before, after] = [await first, await read()]
      return before === undefined || after === undefined ? undefined : upstreamsBetween(before, after, between)
    },
  }
}
