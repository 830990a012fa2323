import { createHash } from 'node:crypto'
import type { RouteConfig } from '../config/gateway-config.js'
import type { ErrorCode } from '../errors/index.js'
import type { GatewayRequest } from './http/request.js'
import { countRateLimitStoreError } from './metrics.js'
import type { RateLimitStore } from './rate-limit.js'

/** What the limiter decided for one request. */
export type Verdict =
  | { readonly allowed: true }
  | { readonly allowed: false, readonly code: Extract<ErrorCode, 'OUTGROW_RATE_LIMITED' | 'OUTGROW_DEPENDENCY_UNAVAILABLE'>, readonly retryAfterSeconds: number, readonly message?: string }

const ALLOWED: Verdict = { allowed: true }
const STORE_DOWN: Verdict = { allowed: false, code: 'OUTGROW_DEPENDENCY_UNAVAILABLE', retryAfterSeconds: 1, message: 'the rate limiter\'s store is unavailable' }

export type StoreFailureMode = 'open' | 'closed'

const sha256 = (key: string): string => createHash('sha256').update(key).digest('hex')

/**
 * Which buckets a request draws from — the route's, then the client's — and what happens when the
 * store fails. A client is its known API key (hashed, so raw keys never reach the store) or else
 * its address: an unknown key is no identity, or every made-up key would get a full bucket.
 */
export class RateLimiter {
  readonly #store: RateLimitStore
  readonly #onError: StoreFailureMode
  /** SHA-256 digests of each route's known keys. */
  readonly #knownKeys = new Map<RouteConfig, ReadonlySet<string>>()

  constructor (store: RateLimitStore, routes: readonly RouteConfig[], onError: StoreFailureMode) {
    this.#store = store
    this.#onError = onError
    for (const route of routes) {
      const perClient = route.rateLimit?.perClient
      if (perClient?.apiKeyHeader !== undefined) this.#knownKeys.set(route, new Set([...perClient.apiKeys.map(sha256), ...perClient.apiKeySha256]))
    }
  }

  /** Never rejects: a failing store yields what `onError` says. */
  async check (route: RouteConfig, req: GatewayRequest, clientIp: string): Promise<Verdict> {
    const limits = route.rateLimit
    if (limits === undefined) return ALLOWED
    try {
      if (limits.route !== undefined) {
        const decision = await this.#store.take(`route:${route.pathPrefix}`, limits.route.rate, limits.route.burst)
        if (!decision.allowed) return limited(decision.retryAfterMs)
      }
      if (limits.perClient !== undefined) {
        const decision = await this.#store.take(`client:${route.pathPrefix}:${this.#clientKey(route, req, clientIp)}`, limits.perClient.rate, limits.perClient.burst)
        if (!decision.allowed) return limited(decision.retryAfterMs)
      }
      return ALLOWED
    } catch {
      countRateLimitStoreError(this.#onError === 'open' ? 'allowed' : 'refused')
      return this.#onError === 'open' ? ALLOWED : STORE_DOWN
    }
  }

  #clientKey (route: RouteConfig, req: GatewayRequest, clientIp: string): string {
    const known = this.#knownKeys.get(route)
    const header = route.rateLimit?.perClient?.apiKeyHeader
    const apiKey = known === undefined || header === undefined ? undefined : req.header(header)
    if (apiKey !== undefined && apiKey !== '') {
      const digest = sha256(apiKey)
      if (known?.has(digest) === true) return `key:${digest}`
    }
    return `ip:${clientIp}`
  }
}

function limited (retryAfterMs: number): Verdict {
  return { allowed: false, code: 'OUTGROW_RATE_LIMITED', retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) }
}
