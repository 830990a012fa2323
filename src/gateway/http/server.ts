import type { Socket } from 'node:net'
import { OutgrowError } from '../../errors/index.js'
import type { ServerLimits } from './connection-owner.js'
import type { Refusal } from './request-head.js'
import { NativeHttpServer } from './native-server.js'
import { probeNativeParser, type ProbeResult } from './native-probe.js'
import { NodeHttpServer } from './node-http-server.js'
import type { GatewayRequest } from './request.js'
import type { GatewayResponse } from './response.js'

/** Which server parses client requests: Node's internal parser on raw sockets, or node:http. */
export type ServerKind = 'native' | 'node-http'
export type ServerSetting = ServerKind | 'auto'

export interface HttpHandlers {
  request(req: GatewayRequest, res: GatewayResponse): void
  reject(res: GatewayResponse, refusal: Refusal): void
  upgrade(req: GatewayRequest, socket: Socket, head: Buffer): void
  clientError(status: number): void
}

/** What server.ts and the admin listener need from either implementation. */
export interface GatewayHttpServer {
  readonly kind: ServerKind
  readonly connections: number
  /** Requests received and waiting behind another on their connection (pipelining), over all connections. */
  queuedRequests(): number
  listen(port: number, host: string): Promise<number>
  /** Stops accepting; idle connections close at once, busy ones after their response, the rest after `graceMs`. */
  close(graceMs?: number): Promise<void>
}

/** The implementation to use, and, when `auto` could not have the native one, why. */
export interface ServerChoice { readonly kind: ServerKind, readonly fallbackReason?: string }

/**
 * `auto` takes the native server when Node's internal parser is there and passes its self-test
 * (native-probe.ts), node:http otherwise. `native` insists: a release without a working parser
 * fails at start rather than at the first client.
 */
export function chooseServer (setting: ServerSetting, probe: ProbeResult = probeNativeParser()): ServerChoice {
  if (setting === 'node-http') return { kind: 'node-http' }
  if (probe.ok) return { kind: 'native' }
  if (setting === 'native') throw new OutgrowError('OUTGROW_CONFIG_INVALID', `server: 'native' cannot run on Node ${process.version}: ${probe.reason}; use 'auto' or 'node-http'`)
  return { kind: 'node-http', fallbackReason: probe.reason }
}

export function createHttpServer (kind: ServerKind, limits: ServerLimits, handlers: HttpHandlers): GatewayHttpServer {
  return kind === 'native' ? new NativeHttpServer(limits, handlers) : new NodeHttpServer(limits, handlers)
}
