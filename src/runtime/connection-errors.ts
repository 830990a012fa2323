import { OutgrowError } from '../errors/index.js'

/**
 * Recognises the errors that mean "an engine could not be reached" rather than "this request is
 * wrong", so they become a retryable 503 naming the missing part instead of a 500.
 */

/** Socket-level failures, whichever client raised them. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'])

/** PostgreSQL SQLSTATEs of a server that is going away or not accepting connections yet. */
const PG_UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03'])

/** node-postgres reports a dropped connection or a connect time-out by message only. */
const PG_CONNECTION_MESSAGES = [
  'Connection terminated',
  'Query read timeout',
  'Client has encountered a connection error',
  'timeout expired',
]

/** ioredis: the offline queue is off, retries are used up, or the command timed out. */
const REDIS_CONNECTION_MESSAGES = [
  "Stream isn't writeable",
  'Connection is closed',
  'Command timed out',
  'Reached the max retries per request limit',
]

function codeOf (err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

function messageOf (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

export function isSocketError (err: unknown): boolean {
  const code = codeOf(err)
  return code !== undefined && SOCKET_CODES.has(code)
}

/** The PostgreSQL server is unreachable or going away: the part is down. */
export function isPgConnectionError (err: unknown): boolean {
  const code = codeOf(err)
  if (code !== undefined && (SOCKET_CODES.has(code) || PG_UNAVAILABLE_STATES.has(code) || code.startsWith('08'))) return true
  const message = messageOf(err)
  return PG_CONNECTION_MESSAGES.some((m) => message.includes(m))
}

/**
 * The PostgreSQL server is up but did not answer in time: the pool had no free connection
 * within connectTimeoutMs, or statement_timeout cancelled the query. Retryable, but no sign the
 * server is down.
 */
export function isPgOverloadError (err: unknown): boolean {
  return codeOf(err) === '57014' || messageOf(err).includes('timeout exceeded when trying to connect')
}

/**
 * A replica cancelled the query because replaying the primary's WAL needed what the query held
 * (SQLSTATE 40001 or 57014, "… conflict with recovery"). Nothing is wrong with the query: the
 * primary can answer it.
 */
export function isReplicaRecoveryConflict (err: unknown): boolean {
  const code = codeOf(err)
  return (code === '40001' || code === '57014') && messageOf(err).includes('conflict with recovery')
}

export function isRedisConnectionError (err: unknown): boolean {
  if (isSocketError(err) || (err as { name?: unknown } | null)?.name === 'MaxRetriesPerRequestError') return true
  const message = messageOf(err)
  return REDIS_CONNECTION_MESSAGES.some((m) => message.includes(m))
}

/**
 * The 503 for an engine error that escaped its adapter, or undefined if it is no connection
 * error. Client-specific shapes are checked first so the code names the right part; a bare
 * socket error could come from anything, so it gets the generic code.
 */
export function unavailableErrorFor (err: unknown): OutgrowError | undefined {
  if (isPgConnectionError(err) && !isSocketError(err)) return new OutgrowError('OUTGROW_DB_UNAVAILABLE', 'database unavailable', undefined, { cause: err })
  if (isPgOverloadError(err)) return new OutgrowError('OUTGROW_DB_UNAVAILABLE', 'database did not answer in time', undefined, { cause: err })
  if (isRedisConnectionError(err) && !isSocketError(err)) return new OutgrowError('OUTGROW_DEPENDENCY_UNAVAILABLE', 'redis unavailable', undefined, { cause: err })
  if (isSocketError(err)) return new OutgrowError('OUTGROW_DEPENDENCY_UNAVAILABLE', 'a dependency is unavailable', undefined, { cause: err })
  return undefined
}
