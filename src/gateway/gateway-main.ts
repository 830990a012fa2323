import cluster from 'node:cluster'
import type { GatewayConfig } from '../config/gateway-config.js'
import { onShutdown, reportReady } from '../runtime/lifecycle.js'
import { registry } from '../runtime/metrics.js'
import { startGateway } from './server.js'
import { aggregateWorkerMetrics, reportMetricsToPrimary } from './worker-metrics.js'

export { startGateway, type RunningGateway } from './server.js'

function hostInUrl (host: string): string {
  return host.includes(':') ? `[${host}]` : host
}

/**
 * The gateway as a process. With `processes` > 1 this process becomes a node:cluster primary and
 * its workers share the listening port; each worker balances on its own, rate limits can be
 * shared through Redis. A scrape of `/__outgrow/metrics` on any worker reports all of them
 * (worker-metrics.ts).
 */
export async function runGateway (config: GatewayConfig, instanceId: string): Promise<void> {
  if (config.processes > 1 && cluster.isPrimary) {
    // Set before the first fork. With 'kernel', a connection opened during a burst is accepted by
    // a worker at once instead of waiting for the primary to pass it over IPC.
    cluster.schedulingPolicy = config.connectionDistribution === 'kernel' ? cluster.SCHED_NONE : cluster.SCHED_RR
    aggregateWorkerMetrics()
    const workers = Array.from({ length: config.processes }, () => cluster.fork())
    await Promise.all(workers.map(async (w) => await new Promise<void>((resolve, reject) => {
      w.once('message', (m: { type?: string }) => { if (m.type === 'ready') resolve() })
      w.once('exit', () => { reject(new Error('gateway worker exited during start')) })
    })))
    let stopping = false
    cluster.on('exit', (worker) => {
      if (stopping) return
      // A worker that dies is replaced, like any supervised process.
      setTimeout(() => { if (!stopping) cluster.fork() }, 500).unref()
      void worker
    })
    onShutdown(async () => {
      stopping = true
      await Promise.all(Object.values(cluster.workers ?? {}).map(async (w) => await new Promise<void>((resolve) => {
        if (w === undefined || w.isDead()) { resolve(); return }
        w.once('exit', () => { resolve() })
        w.process.kill('SIGTERM')
      })))
    })
    reportReady({ role: 'gateway', instanceId, address: `http://${config.host}:${config.port}`, processes: config.processes })
    return
  }
  // A worker answers the primary's metric requests from its first moment, so no scrape waits on it.
  if (cluster.isWorker) reportMetricsToPrimary([registry])
  const gateway = await startGateway(config)
  if (cluster.isWorker) reportMetricsToPrimary([registry, gateway.metrics])
  onShutdown(async () => { await gateway.close() })
  const admin = gateway.adminPort === undefined ? undefined : `http://${hostInUrl(config.admin.host)}:${gateway.adminPort}`
  // Only the first process says where the admin API is: the others share its port.
  if (admin !== undefined && (cluster.isPrimary || cluster.worker?.id === 1)) process.stderr.write(`outgrow: gateway admin API on ${admin}/__outgrow/admin/\n`)
  reportReady({ role: 'gateway', instanceId, address: `http://${hostInUrl(config.host)}:${gateway.port}`, ...(admin === undefined ? {} : { admin }) })
}
