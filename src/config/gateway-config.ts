import { z } from 'zod'
import { defaultTokenRefusal } from './admin-token.js'
import { parseAddressRange } from './cidr.js'
import { checkRedisTarget, redisTargetFields } from './redis-target.js'
import { BALANCER_NAMES, healthCheckSchema } from './stack-config.js'
import { parseOrThrow } from './validate.js'

export { BALANCER_NAMES }
export type BalancerName = typeof BALANCER_NAMES[number]

const tokenBucketSchema = z.object({
  /** Tokens added per second. */
  rate: z.number().positive().max(1_000_000),
  /** Bucket size: the burst allowed above the rate. */
  burst: z.number().int().min(1).max(10_000_000),
}).strict()

export const routeSchema = z.object({
  pathPrefix: z.string().startsWith('/').default('/'),
  balancer: z.enum(BALANCER_NAMES).default('round-robin'),
  /** consistent-hash: where the key comes from. */
  hashKey: z.union([
    z.object({ header: z.string().min(1).toLowerCase() }).strict(),
    z.object({ cookie: z.string().min(1) }).strict(),
    z.object({ pathSegment: z.number().int().min(0).max(32) }).strict(),
  ]).optional(),
  balanceFactor: z.number().min(0).max(100).optional(),
  stickyCookie: z.string().min(1).max(64).regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/).default('outgrow.upstream'),
  /** The request's deadline to response headers, every try and retry included (and the longest pause between body chunks). */
  timeoutMs: z.number().int().min(1).max(3_600_000).default(30_000),
  /**
   * How long one try on one instance may wait for response headers before the request is retried
   * elsewhere (idempotent) or answered 504 (not): `fixedMs` when set, else the route's recent p99 on
   * that instance × `p99Multiplier`, within [floorMs, capMs] (capMs until enough responses are seen,
   * and always for a request that cannot be sent again or is a keyed write: a copy of one elsewhere
   * cannot finish before the first).
   */
  perTryTimeout: z.object({
    fixedMs: z.number().int().min(1).max(3_600_000).optional(),
    p99Multiplier: z.number().min(1).max(100).default(4),
    floorMs: z.number().int().min(1).max(3_600_000).default(250),
    capMs: z.number().int().min(1).max(3_600_000).default(5000),
  }).strict().refine((c) => c.floorMs <= c.capMs, { path: ['floorMs'], message: 'floorMs must not exceed capMs' }).default({}),
  /**
   * Idempotent requests only: when a try has no answer after its per-try timeout, a second copy goes
   * to another instance instead of the first being given up; the first answer wins, the other is cancelled.
   */
  hedge: z.boolean().default(false),
  retries: z.object({
    attempts: z.number().int().min(0).max(10).default(2),
    /** Retries may be at most this share of requests in flight (Envoy's retry budget). */
    budgetPercent: z.number().min(0).max(100).default(20),
    /** Retries always allowed in flight regardless of the budget, so a quiet gateway can still retry. */
    minRetryConcurrency: z.number().int().min(0).max(10_000).default(3),
    /** Responses with these statuses are retried like connection failures. */
    onStatus: z.array(z.number().int().min(500).max(599)).default([502, 503, 504]),
    /** Largest request body buffered so that it can be sent again. */
    maxBufferedBodyBytes: z.number().int().min(0).max(64 * 1024 * 1024).default(1024 * 1024),
  }).strict().default({}),
  rateLimit: z.object({
    /**
     * Per client: by IP, or by the API key in `apiKeyHeader` when it is a known key. Unknown keys
     * count against the client's IP, so made-up keys cannot buy a fresh bucket each.
     */
    perClient: tokenBucketSchema.extend({
      apiKeyHeader: z.string().min(1).toLowerCase().optional(),
      /** Keys that get a bucket of their own. */
      apiKeys: z.array(z.string().min(1)).default([]),
      /** The same as SHA-256 hex digests, so the config need not hold the keys themselves. */
      apiKeySha256: z.array(z.string().regex(/^[0-9a-fA-F]{64}$/, 'expected a SHA-256 digest in hex').toLowerCase()).default([]),
    }).strict().refine((c) => c.apiKeyHeader === undefined || c.apiKeys.length + c.apiKeySha256.length > 0, {
      path: ['apiKeyHeader'], message: 'per-key buckets need the known keys: list them in apiKeys or apiKeySha256',
    }).optional(),
    /** For the whole route, all clients together. */
    route: tokenBucketSchema.optional(),
  }).strict().optional(),
}).strict()

export const instanceSchema = z.object({
  id: z.string().min(1).max(200),
  url: z.string().url(),
  weight: z.number().positive().max(1000).default(1),
}).strict()

export const gatewayConfigSchema = z.object({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65_535).default(8080),
  /** Processes sharing the port (node:cluster). */
  processes: z.number().int().min(1).max(64).default(1),
  /**
   * With processes > 1, who hands new connections to the processes: the kernel (each accepts on
   * the shared socket, as nginx's workers do) or node:cluster's primary, round robin over IPC.
   */
  connectionDistribution: z.enum(['kernel', 'round-robin']).default('kernel'),
  /**
   * Proxies whose X-Forwarded-For / -Proto are trusted (e.g. a CDN or an outer balancer): addresses
   * or CIDR ranges, IPv4 or IPv6. The client is the first untrusted address from the right.
   */
  trustForwardedFrom: z.array(z.string().refine((entry) => parseAddressRange(entry) !== undefined, 'expected an IP address or CIDR range, e.g. 10.0.0.0/8 or fd00::/8')).default([]),
  /**
   * What parses client requests: 'native' (Node's internal parser on raw sockets, the fast one),
   * 'node-http', or 'auto': native when that parser is present and passes a self-test at start,
   * node:http otherwise (one log line says why).
   */
  server: z.enum(['auto', 'native', 'node-http']).default('auto'),
  limits: z.object({
    maxHeaderBytes: z.number().int().min(1024).max(1024 * 1024).default(16 * 1024),
    maxBodyBytes: z.number().int().min(0).max(1024 * 1024 * 1024).default(10 * 1024 * 1024),
    /** Time to receive all request headers; slow clients get 408. */
    headersTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
    /** Time to receive the whole request. */
    requestTimeoutMs: z.number().int().min(100).max(3_600_000).default(60_000),
    keepAliveTimeoutMs: z.number().int().min(100).max(3_600_000).default(65_000),
    /**
     * Pipelined requests parsed ahead of the one being answered, per connection; at this many the
     * connection stops reading until they are answered (backpressure), so memory stays bounded.
     */
    maxPipelinedRequests: z.number().int().min(1).max(10_000).default(64),
  }).strict().default({}),
  /** Bearer token of the admin API; without one the API is off. */
  adminToken: z.string().min(8).optional(),
  /**
   * Where the admin API listens: its own address, loopback by default, so the public port never
   * exposes it (that port answers 404 under /__outgrow/admin/).
   */
  admin: z.object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65_535).default(9901),
  }).strict().default({}),
  static: z.object({
    dir: z.string().min(1),
    maxAgeSeconds: z.number().int().min(0).max(31_536_000).default(60),
  }).strict().optional(),
  upstreams: z.object({
    instances: z.array(instanceSchema).default([]),
    registry: z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('memory') }).strict(),
      z.object({ kind: z.literal('redis'), ...redisTargetFields, cluster: z.string().min(1).default('app') }).strict(),
    ]).superRefine((r, ctx) => { if (r.kind === 'redis') checkRedisTarget(r, ctx) }).optional(),
    healthCheck: healthCheckSchema.default({}),
    outlierDetection: z.object({
      consecutiveFailures: z.number().int().min(1).max(1000).default(5),
      baseEjectionMs: z.number().int().min(100).max(3_600_000).default(5000),
      maxEjectionMs: z.number().int().min(100).max(3_600_000).default(300_000),
      maxEjectedPercent: z.number().min(0).max(100).default(50),
      /** How often the outcomes of the last interval are judged (latency and failure percentage). */
      intervalMs: z.number().int().min(50).max(600_000).default(500),
      /** Responses an instance needs in an interval to be judged on it. */
      minRequests: z.number().int().min(1).max(1_000_000).default(10),
      /** Ejected when its median latency is this many times the median of the other instances' medians; 0: off. */
      latencyFactor: z.number().min(0).max(1000).default(3),
      /** …and at least this many ms above it, so sub-millisecond jitter never ejects anyone. */
      latencyMinExtraMs: z.number().min(0).max(600_000).default(5),
      /**
       * …in this many judged intervals in a row: one slow interval is a pause (a garbage
       * collection, a throttled spell), not a gray failure.
       */
      latencyIntervals: z.number().int().min(1).max(1000).default(3),
      /** Ejected when at least this share of its requests in the interval failed; 0: off. */
      failurePercentage: z.number().min(0).max(100).default(80),
    }).strict().default({}),
    /**
     * Dead peers on upstream sockets: keep-alive probes after `keepAliveMs` idle, every second, and
     * TCP_USER_TIMEOUT (unacknowledged data for `userTimeoutMs` ends the connection); 0: off.
     */
    tcp: z.object({
      keepAliveMs: z.number().int().min(0).max(3_600_000).default(1000),
      userTimeoutMs: z.number().int().min(0).max(3_600_000).default(5000),
    }).strict().default({}),
    slowStartMs: z.number().int().min(0).max(3_600_000).default(0),
    /**
     * HTTP client for proxied requests: Node's native parser on raw sockets, or undici; 'auto' is
     * native when the parser passes the same self-test as the server side, undici otherwise.
     */
    client: z.enum(['auto', 'native', 'undici']).default('auto'),
    connectTimeoutMs: z.number().int().min(10).max(600_000).default(2000),
    connections: z.number().int().min(1).max(100_000).default(128),
    circuitBreaker: z.object({
      maxConcurrent: z.number().int().min(1).max(1_000_000).default(1024),
      maxPending: z.number().int().min(0).max(1_000_000).default(1024),
      failureThreshold: z.number().int().min(1).max(1000).default(5),
      openMs: z.number().int().min(10).max(3_600_000).default(5000),
    }).strict().default({}),
    /** How long a deregistered instance keeps its in-flight requests before it is dropped. */
    drainTimeoutMs: z.number().int().min(0).max(3_600_000).default(30_000),
  }).strict().default({}),
  rateLimitStore: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('local') }).strict(),
    z.object({
      kind: z.literal('redis'),
      ...redisTargetFields,
      /** When Redis fails: let requests through unlimited ('open'), or refuse them with 503 ('closed'). */
      onError: z.enum(['open', 'closed']).default('open'),
    }).strict(),
  ]).superRefine((r, ctx) => { if (r.kind === 'redis') checkRedisTarget(r, ctx) }).default({ kind: 'local' }),
  routes: z.array(routeSchema).min(1).default([{}]),
}).strict().superRefine((config, ctx) => {
  const refusal = defaultTokenRefusal(config.adminToken, [config.host, config.admin.host])
  if (refusal !== undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['adminToken'], message: refusal })
})

export type GatewayConfig = z.output<typeof gatewayConfigSchema>
export type GatewayConfigInput = z.input<typeof gatewayConfigSchema>
export type RouteConfig = z.output<typeof routeSchema>

export function parseGatewayConfig (input: unknown): GatewayConfig {
  return parseOrThrow(gatewayConfigSchema, input, 'gateway config')
}
