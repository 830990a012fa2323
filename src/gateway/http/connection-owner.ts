import type { Socket } from 'node:net'
import type { ClientConnection } from './connection.js'
import type { GatewayRequest } from './request.js'
import type { Refusal } from './request-head.js'
import type { GatewayResponse } from './response.js'

export interface ServerLimits {
  readonly maxHeaderBytes: number
  readonly maxBodyBytes: number
  readonly headersTimeoutMs: number
  readonly requestTimeoutMs: number
  readonly keepAliveTimeoutMs: number
  /** Requests parsed ahead of the one being answered before the connection stops reading. */
  readonly maxPipelinedRequests: number
}

/** What a connection needs from its server. */
export interface ConnectionOwner {
  readonly limits: ServerLimits
  readonly closing: boolean
  request(req: GatewayRequest, res: GatewayResponse): void
  /** Answers a request the connection refused (the response closes the connection). */
  reject(res: GatewayResponse, refusal: Refusal): void
  upgrade(req: GatewayRequest, socket: Socket, head: Buffer): void
  /** A request that could not be parsed or was too slow, by the status it got. */
  clientError(status: number): void
  forget(connection: ClientConnection): void
}
