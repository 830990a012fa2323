import { createServer } from 'node:http'
import type { GatewayProcessConfig } from '../config/process-config.js'
import { onShutdown, reportReady } from '../runtime/lifecycle.js'
import { createBalancer } from './balancers.js'
import { HealthChecker } from './health-checker.js'
import { Proxy } from './proxy.js'
import { Upstream } from './upstream.js'
import { gatewayMetrics } from './metrics.js'

/** The gateway process: a load balancer in front of the app instances. */
export async function runGateway (config: GatewayProcessConfig): Promise<void> {
  const upstreams = config.instances.map((instance) => new Upstream(instance.id, instance.url))
  const proxy = new Proxy(upstreams, createBalancer(config.balancer))
  const checker = new HealthChecker(upstreams, config.healthCheck)
  await checker.checkAll()
  checker.start()

  const server = createServer({ requestTimeout: 60_000, headersTimeout: 10_000, maxHeaderSize: 16 * 1024 }, (req, res) => {
    const path = req.url ?? '/'
    if (path === '/healthz' || path === '/__outgrow/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ status: 'ok', instance: config.instanceId }))
      return
    }
    if (path === '/__outgrow/metrics') {
      void gatewayMetrics(upstreams).then((body) => {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' })
        res.end(body)
      })
      return
    }
    proxy.handle(req, res)
  })
  server.keepAliveTimeout = 65_000
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n')
    else socket.destroy()
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(config.port, config.host, () => { resolve() })
  })
  onShutdown(async () => {
    checker.stop()
    await new Promise<void>((resolve) => { server.close(() => { resolve() }) ; server.closeIdleConnections() })
    await Promise.allSettled(upstreams.map(async (u) => { await u.close() }))
  })
  reportReady({ role: 'gateway', instanceId: config.instanceId, address: `http://${config.host}:${config.port}` })
}
