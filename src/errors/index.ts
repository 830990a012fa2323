/**
 * One error module for the whole project. Every error carries a stable code (documented in
 * docs/errors.md, kept in sync by a test), an HTTP status for the ones that reach a client, and
 * whether retrying the same operation may succeed.
 */
export interface ErrorSpec {
  readonly status: number
  readonly retryable: boolean
  readonly message: string
}

export const ERRORS = {
  OUTGROW_CONFIG_INVALID: { status: 500, retryable: false, message: 'Invalid configuration' },
  OUTGROW_CONFIG_NOT_FOUND: { status: 500, retryable: false, message: 'Configuration file not found' },
  OUTGROW_ENGINE_MISSING: { status: 500, retryable: false, message: 'A required engine is not installed' },
  OUTGROW_ENGINE_START_FAILED: { status: 500, retryable: true, message: 'An engine failed to start' },
  OUTGROW_PORT_UNAVAILABLE: { status: 500, retryable: true, message: 'A port is already in use' },
  OUTGROW_BAD_REQUEST: { status: 400, retryable: false, message: 'Malformed request' },
  OUTGROW_VALIDATION: { status: 400, retryable: false, message: 'Request failed validation' },
  OUTGROW_UNAUTHENTICATED: { status: 401, retryable: false, message: 'Login required' },
  OUTGROW_FORBIDDEN: { status: 403, retryable: false, message: 'Not allowed' },
  OUTGROW_NOT_FOUND: { status: 404, retryable: false, message: 'Not found' },
  OUTGROW_CONFLICT: { status: 409, retryable: false, message: 'Conflict with current state' },
  OUTGROW_OUT_OF_STOCK: { status: 409, retryable: false, message: 'Not enough stock' },
  OUTGROW_IDEMPOTENCY_IN_PROGRESS: { status: 409, retryable: true, message: 'A request with this Idempotency-Key is still being processed' },
  OUTGROW_IDEMPOTENCY_MISMATCH: { status: 422, retryable: false, message: 'This Idempotency-Key was used with a different request' },
  OUTGROW_PAYLOAD_TOO_LARGE: { status: 413, retryable: false, message: 'Payload too large' },
  OUTGROW_UNSUPPORTED_MEDIA_TYPE: { status: 415, retryable: false, message: 'Unsupported media type' },
  OUTGROW_REQUEST_TIMEOUT: { status: 408, retryable: true, message: 'Request not received in time' },
  OUTGROW_HEADERS_TOO_LARGE: { status: 431, retryable: false, message: 'Request headers too large' },
  OUTGROW_RATE_LIMITED: { status: 429, retryable: true, message: 'Too many requests' },
  OUTGROW_NO_HEALTHY_UPSTREAM: { status: 503, retryable: true, message: 'No healthy instance' },
  OUTGROW_UPSTREAM_FAILED: { status: 502, retryable: true, message: 'Upstream failed' },
  OUTGROW_UPSTREAM_TIMEOUT: { status: 504, retryable: true, message: 'Upstream timed out' },
  OUTGROW_SHUTTING_DOWN: { status: 503, retryable: true, message: 'Shutting down' },
  OUTGROW_DB_UNAVAILABLE: { status: 503, retryable: true, message: 'Database unavailable' },
  OUTGROW_DB_FAILOVER: { status: 503, retryable: true, message: 'The database primary is changing' },
  OUTGROW_DEPENDENCY_UNAVAILABLE: { status: 503, retryable: true, message: 'A dependency is unavailable' },
  OUTGROW_DCS_UNAVAILABLE: { status: 503, retryable: true, message: 'The consensus store is unreachable' },
  OUTGROW_DCS_PRECONDITION_FAILED: { status: 409, retryable: false, message: 'A conditional write to the consensus store did not apply' },
  OUTGROW_JOB_FAILED: { status: 500, retryable: true, message: 'Job failed' },
  OUTGROW_TOPOLOGY_REFUSED: { status: 422, retryable: false, message: 'The topology cannot work' },
  OUTGROW_CONTROL_UNAVAILABLE: { status: 503, retryable: true, message: 'No running stack answers' },
  OUTGROW_STACK_RUNNING: { status: 409, retryable: false, message: 'A stack already runs on this data directory' },
  OUTGROW_CHAOS_NO_TARGET: { status: 422, retryable: false, message: 'The running stack has nothing this chaos scenario can hit' },
  OUTGROW_CHAOS_FAULT_FAILED: { status: 500, retryable: false, message: 'The fault could not be injected' },
  OUTGROW_CHAOS_CHECK_FAILED: { status: 503, retryable: true, message: 'The chaos run could not be checked against the database' },
  OUTGROW_CHAOS_UNSAFE: { status: 500, retryable: false, message: 'The chaos run lost or duplicated acknowledged writes, or saw two primaries' },
  OUTGROW_METRICS_UNAVAILABLE: { status: 503, retryable: true, message: 'Metrics could not be read' },
  OUTGROW_PROFILE_UNSUPPORTED: { status: 422, retryable: false, message: 'This process cannot be CPU-profiled' },
  OUTGROW_PROFILE_FAILED: { status: 503, retryable: true, message: 'The CPU profile could not be taken' },
  OUTGROW_CHANGE_FEED_UNAVAILABLE: { status: 503, retryable: true, message: 'The database\'s change stream cannot be read' },
  OUTGROW_JOB_QUEUE_UNAVAILABLE: { status: 409, retryable: false, message: 'The running stack has no job queue the supervisor can reach' },
  OUTGROW_HOST_REFUSED: { status: 403, retryable: false, message: 'The Host header names neither the control API nor a loopback address' },
  OUTGROW_ORIGIN_REFUSED: { status: 403, retryable: false, message: 'A cookie-authenticated change must come from the control API\'s own origin' },
  OUTGROW_CHAOS_RUNNING: { status: 409, retryable: true, message: 'A chaos scenario is already running in the supervisor' },
  OUTGROW_INTERNAL: { status: 500, retryable: false, message: 'Internal error' },
} as const satisfies Record<string, ErrorSpec>

export type ErrorCode = keyof typeof ERRORS

export class OutgrowError extends Error {
  readonly code: ErrorCode
  readonly status: number
  readonly retryable: boolean
  readonly details: Record<string, unknown> | undefined

  constructor (code: ErrorCode, message?: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    const spec = ERRORS[code]
    super(message ?? spec.message, options)
    this.name = 'OutgrowError'
    this.code = code
    this.status = spec.status
    this.retryable = spec.retryable
    this.details = details
  }

  toJSON (): { error: { code: ErrorCode, message: string, retryable: boolean, details?: Record<string, unknown> } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        retryable: this.retryable,
        ...(this.details === undefined ? {} : { details: this.details }),
      },
    }
  }
}

export function isOutgrowError (err: unknown): err is OutgrowError {
  return err instanceof OutgrowError
}
