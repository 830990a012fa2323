import * as hdr from 'hdr-histogram-js'
import { Pool } from 'undici'
import { PerSecondRecorder, type InstanceCount, type SecondSample } from './per-second.js'
import { RecentLatency } from './recent-latency.js'
import type { PlannedRequest, VirtualUser } from './user-mix.js'

/** Requests per second: a constant, or a function of milliseconds since the start (a load shape). */
export type OfferedRate = number | ((elapsedMs: number) => number)

export interface OpenLoopOptions {
  readonly url: string
  /** Offered rate, requests per second, held whatever the server does; a function makes it vary over time. */
  readonly rate: OfferedRate
  readonly durationMs: number
  /**
   * The first part of durationMs that is offered but not measured: requests due in it are sent and
   * awaited, but counted nowhere (the load reaches its steady state before the window opens).
   */
  readonly unmeasuredMs?: number
  readonly connections: number
  readonly timeoutMs: number
  readonly next: () => PlannedRequest
  readonly onTick?: (progress: OpenLoopProgress) => void
  /** Record per-second samples; `instances` is read at the start of every second. */
  readonly perSecond?: { readonly instances?: () => InstanceCount }
}

export interface OpenLoopProgress {
  readonly elapsedMs: number
  readonly durationMs: number
  readonly sent: number
  readonly completed: number
  readonly errors: number
  /** Answers (2xx–4xx) so far, for the achieved rate. */
  readonly answered?: number
  /** Latency of the last seconds' completions, for a live p99. */
  readonly recent?: RecentLatency
}

export interface LatencySummary {
  readonly count: number
  readonly meanMs: number
  readonly p50Ms: number
  readonly p90Ms: number
  readonly p99Ms: number
  readonly p999Ms: number
  readonly maxMs: number
}

export interface OpenLoopResult {
  /** The constant rate, or the mean of a varying one. */
  readonly offeredRate: number
  readonly achievedRate: number
  readonly durationMs: number
  readonly sent: number
  readonly completed: number
  /** Requests that completed with a 2xx/3xx. */
  readonly ok: number
  /** Requests answered by the application: everything but 5xx, network errors and time-outs. */
  readonly answered: number
  readonly latency: LatencySummary
  readonly byAction: Readonly<Record<string, LatencySummary>>
  /** Failures by kind: `5xx:503`, `4xx:409`, `net:ECONNREFUSED`, `timeout`. */
  readonly errorsByKind: Readonly<Record<string, number>>
  readonly instances: Readonly<Record<string, number>>
  /** How late the generator itself sent requests; a large value means the generator, not the server, was the limit. */
  readonly sendLag: LatencySummary
  /** With `perSecond`: one sample per second of the run. */
  readonly seconds?: readonly SecondSample[]
  /** Latency at percentiles spaced evenly on the 1/(1−p) scale (50 % … 99.998 %, then the maximum), for the HDR plot. */
  readonly percentiles?: ReadonlyArray<{ readonly percentile: number, readonly ms: number }>
}

export function newHistogram (): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 })
}

export function summarize (h: hdr.Histogram): LatencySummary {
  const ms = (us: number): number => Math.round(us) / 1000
  // A percentile's value is the top of its bucket, which can lie above the largest value recorded.
  const at = (p: number): number => ms(Math.min(h.getValueAtPercentile(p), h.maxValue))
  return {
    count: h.totalCount,
    meanMs: ms(h.mean),
    p50Ms: at(50),
    p90Ms: at(90),
    p99Ms: at(99),
    p999Ms: at(99.9),
    maxMs: ms(h.maxValue),
  }
}

/** 1/(1−p) from 2 to 63 000 in quarter decades: 50 %, 72 %, 84 %, 91 %, 95 % … 99.998 %. */
const PLOT_PERCENTILES = Array.from({ length: 19 }, (_, i) => Math.round((1 - 0.5 * 10 ** (-i / 4)) * 1e6) / 1e4)

function percentilePoints (h: hdr.Histogram): Array<{ percentile: number, ms: number }> {
  if (h.totalCount === 0) return []
  // A percentile's value is the top of its bucket, which can lie above the largest value recorded.
  const max = Math.round(h.maxValue) / 1000
  const points = PLOT_PERCENTILES.map((p) => ({ percentile: p, ms: Math.min(max, Math.round(h.getValueAtPercentile(p)) / 1000) }))
  return [...points, { percentile: 100, ms: max }]
}

export function updateCookie (user: VirtualUser, setCookie: string | string[] | undefined): void {
  if (setCookie === undefined) return
  for (const header of Array.isArray(setCookie) ? setCookie : [setCookie]) {
    const pair = header.split(';')[0] ?? ''
    if (pair.startsWith('outgrow.sid=')) user.cookie = pair
  }
}

/**
 * When each request is due, in ms from the start: request i at i/rate for a constant rate; for a
 * varying one, each request one interval of the rate at the previous due time after it, and while
 * the rate is 0 nothing is due (it is re-read every 10 ms). Indexes are asked in increasing order.
 */
export function arrivalSchedule (rate: OfferedRate): (index: number) => number {
  if (typeof rate === 'number') return (index) => index * 1000 / rate
  const skipPause = (at: number): number => {
    let t = at
    while (rate(t) <= 0) t += 10
    return t
  }
  let lastIndex = 0
  let lastDue = skipPause(0)
  return (index) => {
    while (lastIndex < index) {
      lastDue = skipPause(lastDue + 1000 / rate(lastDue))
      lastIndex++
    }
    return lastDue
  }
}

/**
 * An open-model load generator: request i is due at its scheduled time (start + i/rate at a
 * constant rate) whether or not earlier ones have answered, and its latency counts from that
 * intended time. A slow server therefore shows up as latency, never as a politely lower rate (no
 * coordinated omission).
 */
export async function runOpenLoop (options: OpenLoopOptions): Promise<OpenLoopResult> {
  const pool = new Pool(options.url, { connections: options.connections, keepAliveTimeout: 30_000, pipelining: 1 })
  const all = newHistogram()
  const sendLag = newHistogram()
  const byAction = new Map<string, hdr.Histogram>()
  const errorsByKind: Record<string, number> = {}
  const instances: Record<string, number> = {}
  const dueAt = arrivalSchedule(options.rate)
  const perSecond = options.perSecond === undefined ? undefined : new PerSecondRecorder()
  let sampledSecond = -1
  let sent = 0
  let completed = 0
  let ok = 0
  let answered = 0
  let errors = 0
  let inFlight = 0
  let drained: (() => void) | undefined
  const start = performance.now()
  const deadline = start + options.durationMs
  const unmeasuredMs = Math.min(options.unmeasuredMs ?? 0, options.durationMs)
  const measuredFrom = start + unmeasuredMs
  let lastCompletion = start
  let unmeasuredSent = 0
  const recent = new RecentLatency()

  const record = (planned: PlannedRequest, intendedAt: number, kind: string | undefined): void => {
    const now = performance.now()
    if (intendedAt < measuredFrom) {
      inFlight--
      if (inFlight === 0 && drained !== undefined) drained()
      return
    }
    lastCompletion = now
    const latencyUs = Math.max(1, Math.round((now - intendedAt) * 1000))
    perSecond?.completed((intendedAt - start) / 1000, (now - start) / 1000, latencyUs / 1000, kind === undefined || kind.startsWith('4xx') ? 'answered' : 'failed')
    all.recordValue(latencyUs)
    recent.record(latencyUs / 1000)
    let h = byAction.get(planned.action)
    if (h === undefined) byAction.set(planned.action, h = newHistogram())
    h.recordValue(latencyUs)
    completed++
    if (kind === undefined || kind.startsWith('4xx')) answered++
    if (kind === undefined) ok++
    else {
      errors++
      errorsByKind[kind] = (errorsByKind[kind] ?? 0) + 1
    }
    inFlight--
    if (inFlight === 0 && drained !== undefined) drained()
  }

  // Requests go out through undici's dispatch with a small handler: no response stream and no
  // promise per request, so the generator's own cost stays low and its timing honest.
  const fire = (planned: PlannedRequest, intendedAt: number): void => {
    const headers: Record<string, string> = { cookie: planned.user.cookie }
    if (planned.body !== undefined) headers['content-type'] = 'application/json'
    if (planned.idempotencyKey !== undefined) headers['idempotency-key'] = planned.idempotencyKey
    if (intendedAt >= measuredFrom) sendLag.recordValue(Math.max(1, Math.round((performance.now() - intendedAt) * 1000)))
    else unmeasuredSent++
    inFlight++
    let status = 0
    let settled = false
    const finish = (kind: string | undefined): void => {
      if (settled) return
      settled = true
      record(planned, intendedAt, kind)
    }
    pool.dispatch({
      path: planned.path, method: planned.method, headers, body: planned.body ?? null,
      headersTimeout: options.timeoutMs, bodyTimeout: options.timeoutMs,
    }, {
      onConnect: () => {},
      onHeaders: (statusCode: number, rawHeaders: Buffer[]) => {
        status = statusCode
        for (let i = 0; i < rawHeaders.length; i += 2) {
          const name = (rawHeaders[i] as Buffer).toString('latin1').toLowerCase()
          if (name === 'set-cookie') updateCookie(planned.user, (rawHeaders[i + 1] as Buffer).toString('latin1'))
          else if (name === 'x-outgrow-instance') {
            const instance = (rawHeaders[i + 1] as Buffer).toString('latin1')
            instances[instance] = (instances[instance] ?? 0) + 1
          }
        }
        return true
      },
      onData: () => true,
      onComplete: () => {
        if (status >= 400) {
          if (status < 500 && (planned.action === 'checkout' || planned.action === 'add_to_cart')) planned.user.clearCart = true
          finish(`${Math.floor(status / 100)}xx:${status}`)
          return
        }
        if (planned.action === 'add_to_cart') planned.user.cartItems++
        if (planned.action === 'checkout') planned.user.cartItems = 0
        finish(undefined)
      },
      onError: (err: Error) => {
        const code = (err as { code?: string }).code ?? 'unknown'
        finish(code.includes('TIMEOUT') ? 'timeout' : `net:${code}`)
      },
    })
  }

  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now()
      const second = Math.floor((now - start) / 1000)
      if (perSecond !== undefined && second > sampledSecond && now < deadline) {
        sampledSecond = second
        const read = options.perSecond?.instances
        if (read !== undefined) perSecond.instances(second, read())
      }
      // Request i is due at start + dueAt(i), for every i whose due time falls inside the run.
      while (start + dueAt(sent) <= now && start + dueAt(sent) < deadline) {
        const intendedAt = start + dueAt(sent)
        perSecond?.sent((intendedAt - start) / 1000)
        fire(options.next(), intendedAt)
        sent++
      }
      options.onTick?.({ elapsedMs: now - start, durationMs: options.durationMs, sent, completed, errors, answered, recent })
      if (now >= deadline) resolve()
      else setTimeout(tick, 1)
    }
    tick()
  })
  if (inFlight > 0) await new Promise<void>((resolve) => { drained = resolve })
  await pool.close()
  const elapsedMs = Math.max(options.durationMs - unmeasuredMs, lastCompletion - measuredFrom)
  const measuredSent = sent - unmeasuredSent
  const actions: Record<string, LatencySummary> = {}
  for (const [name, h] of byAction) actions[name] = summarize(h)
  return {
    offeredRate: typeof options.rate === 'number' ? options.rate : Math.round((measuredSent / (options.durationMs - unmeasuredMs)) * 1000 * 10) / 10,
    achievedRate: Math.round((answered / elapsedMs) * 1000 * 10) / 10,
    durationMs: Math.round(elapsedMs),
    sent: measuredSent,
    completed,
    ok,
    answered,
    latency: summarize(all),
    byAction: actions,
    errorsByKind,
    instances,
    sendLag: summarize(sendLag),
    ...(perSecond === undefined ? {} : { seconds: perSecond.samples(options.durationMs / 1000) }),
    percentiles: percentilePoints(all),
  }
}
