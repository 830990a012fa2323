import { bearerTokenMatches } from '../config/admin-token.js'
import { firstZodIssue } from '../config/validate.js'
import { z } from 'zod'
import type { UpstreamCluster } from './cluster.js'
import type { GatewayRequest } from './http/request.js'
import { httpDate, type GatewayResponse } from './http/response.js'
import { sendError } from './proxy.js'
import type { Registry } from './registry.js'

const instanceBody = z.object({ id: z.string().min(1).max(200), url: z.string().url(), weight: z.number().positive().max(1000).optional() }).strict()

export function json (res: GatewayResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, ['content-type', 'application/json', 'content-length', String(Buffer.byteLength(text)), 'date', httpDate()])
  res.end(text)
}

function authorized (req: GatewayRequest, token: string): boolean {
  return bearerTokenMatches(req.header('authorization'), token)
}

async function readJson (req: GatewayRequest, limit = 16 * 1024): Promise<unknown> {
  let size = 0
  const chunks: Buffer[] = []
  if (req.body === undefined) throw new Error('no body')
  for await (const chunk of req.body) {
    size += (chunk as Buffer).length
    if (size > limit) throw new Error('body too large')
    chunks.push(chunk as Buffer)
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'))
}

/**
 * The token-protected admin API: GET lists instances with state and weights; POST registers one;
 * DELETE drains one. Through the registry when there is one, so every gateway sees the change.
 */
export async function handleAdmin (req: GatewayRequest, res: GatewayResponse, path: string, cluster: UpstreamCluster, registry: Registry | undefined, token: string): Promise<void> {
  if (req.header('authorization') === undefined) return sendError(res, 'OUTGROW_UNAUTHENTICATED', 'admin token required')
  if (!authorized(req, token)) return sendError(res, 'OUTGROW_FORBIDDEN', 'wrong admin token')
  const now = Date.now()
  if (req.method === 'GET' && path === '/__outgrow/admin/instances') {
    const describe = (u: typeof cluster.members[number]): Record<string, unknown> => ({
      id: u.id, url: u.url, state: u.state, weight: u.weight, effectiveWeight: Math.round(u.effectiveWeight(now) * 1000) / 1000,
      active: u.active, latencyEwmaMs: Math.round(u.latencyEwmaMsAt(now) * 1000) / 1000, ejections: u.ejections, breaker: u.breaker.state(now),
    })
    return json(res, 200, { instances: [...cluster.members, ...cluster.draining].map(describe) })
  }
  if (req.method === 'POST' && path === '/__outgrow/admin/instances') {
    let body: z.infer<typeof instanceBody>
    try {
      const parsed = instanceBody.safeParse(await readJson(req))
      if (!parsed.success) {
        const { field, message } = firstZodIssue(parsed.error, 'body')
        return sendError(res, 'OUTGROW_VALIDATION', `${field}: ${message}`)
      }
      body = parsed.data
    } catch {
      return sendError(res, 'OUTGROW_BAD_REQUEST', 'body must be JSON {id, url, weight?}')
    }
    if (registry !== undefined) await registry.register(body)
    else await cluster.upsert(body)
    return json(res, 201, { registered: body.id })
  }
  const match = /^\/__outgrow\/admin\/instances\/([^/]+)$/.exec(path)
  if (req.method === 'DELETE' && match !== null) {
    const id = decodeURIComponent(match[1] as string)
    if (registry !== undefined) await registry.deregister(id)
    const removed = cluster.remove(id)
    if (!removed && registry === undefined) return sendError(res, 'OUTGROW_NOT_FOUND', `no instance ${id}`)
    return json(res, 200, { draining: id })
  }
  return sendError(res, 'OUTGROW_NOT_FOUND', `no admin route ${req.method} ${path}`)
}
