import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { GatewayProcessConfig } from '../config/process-config.js'
import { onShutdown, reportReady } from '../runtime/lifecycle.js'
import { createBalancer } from './balancers.js'
import { HealthChecker } from './health-checker.js'
import { gatewayMetrics } from './metrics.js'
import { Proxy } from './proxy.js'
import { Upstream } from './upstream.js'

export interface RunningGateway {
  readonly server: Server
  readonly port: number
  readonly upstreams: readonly Upstream[]
  close(): Promise<void>
}

/** A load balancer in front of the app instances; paths under /__outgrow/ are its own. */
export async function startGateway (config: GatewayProcessConfig): Promise<RunningGateway> {
  const upstreams = config.instances.map((instance) => new Upstream(instance.id, instance.url))
  const proxy = new Proxy(upstreams, createBalancer(config.balancer))
  const checker = new HealthChecker(upstreams, config.healthCheck)
  await checker.checkAll()
  checker.start()

  const server = createServer({ requestTimeout: 60_000, headersTimeout: 10_000, maxHeaderSize: 16 * 1024 }, (req, res) => {
    const path = req.url ?? '/'
    if (path === '/__outgrow/healthz') {
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
  return {
    server,
    port: (server.address() as AddressInfo).port,
    upstreams,
    close: async () => {
      checker.stop()
      const closed = new Promise<void>((resolve) => { server.close(() => { resolve() }) })
      server.closeIdleConnections()
      await closed
      await Promise.allSettled(upstreams.map(async (u) => { await u.close() }))
    },
  }
}

/** The gateway as a process of a stack. */
export async function runGateway (config: GatewayProcessConfig): Promise<void> {
  const gateway = await startGateway(config)
  onShutdown(async () => { await gateway.close() })
  reportReady({ role: 'gateway', instanceId: config.instanceId, address: `http://${config.host}:${gateway.port}` })
}
