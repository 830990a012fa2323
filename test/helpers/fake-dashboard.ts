import Fastify, { type FastifyInstance } from 'fastify'
import type { AutoscaleRecord } from '../../src/control/autoscaler/controller.js'
import type { StackEvent } from '../../src/control/event-log.js'
import { registerDashboardPage } from '../../src/dashboard/page.js'
import type { DashboardHello, DashboardSample, ProcessStatus, ProcessView } from '../../src/dashboard/sample.js'

/**
 * A stand-in for the supervisor's dashboard side: the real page, a stream of synthetic samples
 * (a level 4 layout with any number of instances), and the control API's actions recorded and
 * acted out on the synthetic stack. Lets the page be tested at sizes a test machine cannot run.
 */
export interface FakeDashboard {
  readonly url: string
  readonly calls: Array<{ path: string, body: unknown, actor: string | undefined }>
  /** Sets the number of app instances the next samples show. */
  setInstances(n: number): void
  /** Adds an event to the log and sends it to open pages. */
  event(input: Omit<StackEvent, 'seq' | 'time'>): void
  autoscale(record: AutoscaleRecord): void
  /** Ends every open stream (the page should say it is disconnected, then reconnect). */
  dropStreams(): void
  close(): Promise<void>
}

interface FakeProcess { status: ProcessStatus, restarts: number, since: number }

export async function startFakeDashboard (options: { instances: number, intervalMs?: number }): Promise<FakeDashboard> {
  const intervalMs = options.intervalMs ?? 250
  let instances = options.instances
  const state = new Map<string, FakeProcess>()
  const events: StackEvent[] = []
  const history: DashboardSample[] = []
  const records: AutoscaleRecord[] = []
  const streams = new Set<(name: string, data: unknown) => void>()
  const closers = new Set<() => void>()
  const calls: FakeDashboard['calls'] = []
  let seq = 0

  const broadcast = (name: string, data: unknown): void => { for (const send of streams) send(name, data) }
  const event = (input: Omit<StackEvent, 'seq' | 'time'>): void => {
    const e: StackEvent = { seq: ++seq, time: new Date().toISOString(), ...input }
    events.push(e)
    broadcast('stack-event', e)
  }
  const processOf = (name: string, role: string, server: string, dataRole: ProcessView['dataRole'], now: number): ProcessView => {
    const s = state.get(name) ?? { status: 'healthy', restarts: 0, since: now }
    // A killed process is dead for a moment, restarts, then is healthy again with one more restart.
    if (s.status === 'dead' && now - s.since > 600) Object.assign(s, { status: 'restarting', since: now })
    else if (s.status === 'restarting' && now - s.since > 600) Object.assign(s, { status: 'healthy', since: now })
    state.set(name, s)
    return { name, role, server, status: s.status, restarts: s.restarts, pid: s.status === 'dead' ? null : 1000 + name.length, dataRole, detail: null }
  }
  const sample = (now: number): DashboardSample => {
    const apps = Array.from({ length: instances }, (_, i) => `app-${i + 1}`)
    const processes = [
      processOf('gateway', 'gateway', 'gateway', null, now),
      ...apps.map((name) => processOf(name, 'app', name, null, now)),
      processOf('worker-1', 'worker', 'worker-1', null, now),
      processOf('postgres-primary', 'postgres', 'db-primary', 'primary', now),
      processOf('postgres-replica-1', 'postgres', 'db-replica-1', 'replica', now),
      processOf('redis', 'redis', 'redis', 'primary', now),
    ]
    const wave = 1 + Math.sin(now / 3000)
    const rates = apps.map((_, i) => processes[i + 1]?.status === 'healthy' ? 20 + 10 * wave + i : 0)
    return {
      t: now,
      processes,
      servers: processes.map((p) => ({ name: p.server, cpuCores: 0.2, quotaCores: 1, throttled: 0 })),
      instances: apps.map((name, i) => ({ name, requestsPerSecond: rates[i] ?? 0, p50Ms: 3, p99Ms: 20 + 5 * wave, errorsPerSecond: 0, elu: 0.3, inFlight: 2, serverCpu: 0.4 })),
      edges: [
        ...apps.map((name, i) => ({ from: 'gateway', to: name, perSecond: rates[i] ?? 0 })),
        ...apps.flatMap((name, i) => [{ from: name, to: 'postgres-replica-1', perSecond: (rates[i] ?? 0) / 2 }, { from: name, to: 'redis', perSecond: rates[i] ?? 0 }]),
        { from: 'worker-1', to: 'postgres-primary', perSecond: 3 },
      ],
      database: [
        { name: 'postgres-primary', role: 'primary', queriesPerSecond: 40 * wave, connections: 12, lagBytes: null, lagSeconds: null },
        { name: 'postgres-replica-1', role: 'replica', queriesPerSecond: 120 * wave, connections: 20, lagBytes: 1024 * wave, lagSeconds: 0.01 * wave },
      ],
      cache: { hitRatio: 0.9, redisOpsPerSecond: 300 * wave, usedMemoryBytes: 5e6 },
      jobs: { queues: [{ name: 'receipts', waiting: Math.round(4 * wave), active: 1, delayed: 0, failed: 0, oldestWaitingSeconds: 0.5 * wave }], completedPerSecond: 3, meanRunMs: 40 },
      total: { requestsPerSecond: rates.reduce((a, b) => a + b, 0), errorsPerSecond: 0, p99Ms: 25 },
    }
  }
  const tick = (): void => {
    const s = sample(Date.now())
    history.push(s)
    if (history.length > 300) history.shift()
    broadcast('sample', s)
  }
  tick()
  const timer = setInterval(tick, intervalMs)

  const app: FastifyInstance = Fastify({ logger: false })
  registerDashboardPage(app)
  app.get('/dashboard/stream', (request, reply) => {
    reply.hijack()
    const res = reply.raw
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' })
    const send = (name: string, data: unknown): void => { res.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`) }
    const hello: DashboardHello = {
      level: 4,
      url: 'http://127.0.0.1:8080',
      intervalMs,
      history,
      events,
      autoscaler: records,
      services: [{ name: 'app', replicas: instances, min: 1, max: 64 }],
      scenarios: ['kill-instance', 'kill-primary'],
    }
    send('hello', hello)
    streams.add(send)
    const close = (): void => { res.end() }
    closers.add(close)
    request.raw.once('close', () => { streams.delete(send); closers.delete(close) })
  })
  const record = (path: string, body: unknown, actor: string | undefined): void => { calls.push({ path, body, actor }) }
  app.post('/v1/scale', async (request, reply) => {
    const body = request.body as { targets?: Record<string, number> }
    record('/v1/scale', body, request.headers['x-outgrow-actor'] as string | undefined)
    const n = body.targets?.app
    if (typeof n !== 'number' || n < 0) return await reply.code(400).send({ error: { code: 'OUTGROW_BAD_REQUEST', message: 'body.targets: name a service', retryable: false } })
    instances = n
    event({ actor: 'dashboard', action: 'scale', target: 'app', result: 'requested', detail: `to ${n}` })
    return { accepted: true }
  })
  app.post('/v1/processes/:name/kill', async (request) => {
    const { name } = request.params as { name: string }
    record(`/v1/processes/${name}/kill`, request.body, request.headers['x-outgrow-actor'] as string | undefined)
    const s = state.get(name)
    if (s !== undefined) Object.assign(s, { status: 'dead', restarts: s.restarts + 1, since: Date.now() })
    event({ actor: 'dashboard', action: 'kill', target: name, result: 'ok' })
    return { accepted: true }
  })
  for (const path of ['/v1/rolling-restart', '/v1/chaos']) {
    app.post(path, async (request) => {
      record(path, request.body, request.headers['x-outgrow-actor'] as string | undefined)
      event({ actor: 'dashboard', action: path.slice(4), result: 'requested' })
      return { accepted: true }
    })
  }
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  return {
    url,
    calls,
    setInstances: (n) => { instances = n },
    event,
    autoscale: (r) => { records.push(r); broadcast('autoscale', r) },
    dropStreams: () => { for (const close of [...closers]) close() },
    close: async () => {
      clearInterval(timer)
      for (const close of [...closers]) close()
      await app.close()
    },
  }
}
