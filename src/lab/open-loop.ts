import * as hdr from 'hdr-histogram-js'
import { Pool, type Dispatcher } from 'undici'
import type { PlannedRequest, VirtualUser } from './user-mix.js'

export interface OpenLoopOptions {
  readonly url: string
  /** Offered rate, requests per second, held constant whatever the server does. */
  readonly rate: number
  readonly durationMs: number
  readonly connections: number
  readonly timeoutMs: number
  readonly next: () => PlannedRequest
  readonly onTick?: (progress: OpenLoopProgress) => void
}

export interface OpenLoopProgress {
  readonly elapsedMs: number
  readonly durationMs: number
  readonly sent: number
  readonly completed: number
  readonly errors: number
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
}

function newHistogram (): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 })
}

function summarize (h: hdr.Histogram): LatencySummary {
  const ms = (us: number): number => Math.round(us) / 1000
  return {
    count: h.totalCount,
    meanMs: ms(h.mean),
    p50Ms: ms(h.getValueAtPercentile(50)),
    p90Ms: ms(h.getValueAtPercentile(90)),
    p99Ms: ms(h.getValueAtPercentile(99)),
    p999Ms: ms(h.getValueAtPercentile(99.9)),
    maxMs: ms(h.maxValue),
  }
}

export function updateCookie (user: VirtualUser, setCookie: string | string[] | undefined): void {
  if (setCookie === undefined) return
  for (const header of Array.isArray(setCookie) ? setCookie : [setCookie]) {
    const pair = header.split(';')[0] ?? ''
    if (pair.startsWith('outgrow.sid=')) user.cookie = pair
  }
}

/**
 * An open-model load generator: request i is due at start + i/rate whether or not earlier ones
 * have answered, and its latency counts from that intended time. A slow server therefore shows up
 * as latency, never as a politely lower rate (no coordinated omission).
 */
export async function runOpenLoop (options: OpenLoopOptions): Promise<OpenLoopResult> {
  const pool = new Pool(options.url, { connections: options.connections, keepAliveTimeout: 30_000, pipelining: 1 })
  const all = newHistogram()
  const sendLag = newHistogram()
  const byAction = new Map<string, hdr.Histogram>()
  const errorsByKind: Record<string, number> = {}
  const instances: Record<string, number> = {}
  const intervalMs = 1000 / options.rate
  let sent = 0
  let completed = 0
  let ok = 0
  let answered = 0
  let errors = 0
  let inFlight = 0
  let drained: (() => void) | undefined
  const start = performance.now()
  const deadline = start + options.durationMs
  let lastCompletion = start

  const record = (planned: PlannedRequest, intendedAt: number, kind: string | undefined): void => {
    const now = performance.now()
    lastCompletion = now
    const latencyUs = Math.max(1, Math.round((now - intendedAt) * 1000))
    all.recordValue(latencyUs)
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
    sendLag.recordValue(Math.max(1, Math.round((performance.now() - intendedAt) * 1000)))
    inFlight++
    let status = 0
    let settled = false
    const finish = (kind: string | undefined): void => {
      if (settled) return
      settled = true
      record(planned, intendedAt, kind)
    }
    pool.dispatch({
      path: planned.path, method: planned.method as Dispatcher.HttpMethod, headers, body: planned.body ?? null,
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
    } as unknown as Dispatcher.DispatchHandler)
  }

  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now()
      // Request i is due at start + i·interval, for every i whose due time falls inside the run.
      while (start + sent * intervalMs <= now && start + sent * intervalMs < deadline) {
        fire(options.next(), start + sent * intervalMs)
        sent++
      }
      options.onTick?.({ elapsedMs: now - start, durationMs: options.durationMs, sent, completed, errors })
      if (now >= deadline) resolve()
      else setTimeout(tick, 1)
    }
    tick()
  })
  if (inFlight > 0) await new Promise<void>((resolve) => { drained = resolve })
  await pool.close()
  const elapsedMs = Math.max(options.durationMs, lastCompletion - start)
  const actions: Record<string, LatencySummary> = {}
  for (const [name, h] of byAction) actions[name] = summarize(h)
  return {
    offeredRate: options.rate,
    achievedRate: Math.round((answered / elapsedMs) * 1000 * 10) / 10,
    durationMs: Math.round(elapsedMs),
    sent,
    completed,
    ok,
    answered,
    latency: summarize(all),
    byAction: actions,
    errorsByKind,
    instances,
    sendLag: summarize(sendLag),
  }
}
