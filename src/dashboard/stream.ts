import type { FastifyInstance } from 'fastify'
import type { AutoscaleRecord } from '../control/autoscaler/controller.js'
import { SCENARIOS } from '../lab/chaos/scenarios.js'
import type { DashboardCollector } from './collector.js'
import type { DashboardHello } from './sample.js'
import { dataRoleOf, processStatus } from './sample-math.js'
import type { DashboardHost } from './stack-host.js'

/** A comment line now and then keeps proxies and the browser from taking an idle stream for a dead one. */
const HEARTBEAT_MS = 15_000
const HELLO_EVENTS = 500

export function dashboardHello (host: DashboardHost, collector: DashboardCollector): DashboardHello {
  const spec = host.spec
  const groups = [...Object.entries(spec.services), ...Object.entries(spec.workers)]
  return {
    level: spec.level ?? null,
    url: host.info().url,
    intervalMs: collector.intervalMs,
    history: collector.history(),
    events: host.events.since(0).slice(-HELLO_EVENTS),
    autoscaler: host.autoscaleHistory().slice(-200),
    services: groups.map(([name, g]) => ({ name, replicas: g.instances.count, min: g.instances.min ?? null, max: g.instances.max ?? null })),
    scenarios: [...SCENARIOS],
    processes: host.info().processes.map((p) => ({ name: p.name, role: p.role, server: p.server, status: processStatus(p, undefined), restarts: p.restarts, pid: p.pid ?? null, dataRole: dataRoleOf(p, undefined), detail: p.detail ?? null })),
  }
}

/** Records of the autoscaler's history that came after `seen` (the last one sent). */
function newRecords (history: readonly AutoscaleRecord[], seen: AutoscaleRecord | undefined): readonly AutoscaleRecord[] {
  if (seen === undefined) return history
  const i = history.lastIndexOf(seen)
  return i >= 0 ? history.slice(i + 1) : history.filter((r) => r.at > seen.at)
}

/**
 * `GET /dashboard/stream` (Server-Sent Events: `hello`, then `sample`, `stack-event`, `autoscale`)
 * and `GET /dashboard/api/hello`. Streams end when the control API closes (the stack goes down).
 */
export function registerDashboardStream (app: FastifyInstance, host: DashboardHost, collector: DashboardCollector): void {
  const open = new Set<() => void>()
  app.addHook('preClose', async () => { for (const end of [...open]) end() })
  app.addHook('onClose', async () => { await collector.close() })

  app.get('/dashboard/api/hello', async () => dashboardHello(host, collector))

  app.get('/dashboard/stream', (_request, reply) => {
    reply.hijack()
    const res = reply.raw
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' })
    const send = (event: string, data: unknown): void => { res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`) }
    const hello = dashboardHello(host, collector)
    send('hello', hello)
    let lastRecord = hello.autoscaler.at(-1) ?? host.autoscaleHistory().at(-1)
    const unsubscribeSamples = collector.subscribe((sample) => {
      send('sample', sample)
      // The autoscaler keeps its decisions in memory; new ones go out with each sample's tick.
      for (const record of newRecords(host.autoscaleHistory(), lastRecord)) { send('autoscale', record); lastRecord = record }
    })
    const unsubscribeEvents = host.events.subscribe((event) => { send('stack-event', event) })
    const heartbeat = setInterval(() => { res.write(': heartbeat\n\n') }, HEARTBEAT_MS)
    let ended = false
    const end = (): void => {
      if (ended) return
      ended = true
      clearInterval(heartbeat)
      unsubscribeSamples()
      unsubscribeEvents()
      open.delete(end)
      res.end()
    }
    open.add(end)
    // The response closes when the browser goes away (or the socket fails): that is the end of this watcher.
    res.once('close', end)
    res.once('error', end)
  })
}
