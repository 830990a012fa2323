import type { GatewayConfig } from '../config/gateway-config.js'
import { handleAdmin } from './admin.js'
import type { UpstreamCluster } from './cluster.js'
import { createHttpServer, type ServerKind } from './http/server.js'
import { countLocal } from './metrics.js'
import { sendError } from './proxy.js'
import type { Registry } from './registry.js'

export const ADMIN_PREFIX = '/__outgrow/admin/'

export interface AdminListener {
  readonly port: number
  close(): Promise<void>
}

/**
 * The admin API on an address of its own (loopback unless configured otherwise): what can drain
 * or add instances is never reachable through the port that faces clients. Off without a token.
 */
export async function startAdminListener (config: GatewayConfig, kind: ServerKind, cluster: UpstreamCluster, registry: Registry | undefined): Promise<AdminListener | undefined> {
  const token = config.adminToken
  if (token === undefined) return undefined
  const server = createHttpServer(kind, config.limits, {
    request: (req, res) => {
      const path = req.url.split('?')[0] as string
      if (!path.startsWith(ADMIN_PREFIX)) {
        sendError(res, 'OUTGROW_NOT_FOUND', `no admin route ${req.method} ${path}`)
        return
      }
      handleAdmin(req, res, path, cluster, registry, token).catch(() => { sendError(res, 'OUTGROW_INTERNAL') })
    },
    reject: (res, refusal) => { sendError(res, refusal.code, refusal.message) },
    upgrade: (_req, socket) => { socket.destroy() },
    clientError: (status) => { countLocal(`admin_client_error_${status}`) },
  })
  const port = await server.listen(config.admin.port, config.admin.host)
  return { port, close: async () => { await server.close(1000) } }
}
