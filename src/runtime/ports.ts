/**
 * The ports an application is written against. Adapters implement them; configuration picks the
 * adapters; the application never imports one.
 */

export interface QueryResult<Row> {
  readonly rows: Row[]
  readonly rowCount: number
}

/** An opaque position in the primary's write history (a PostgreSQL WAL LSN). */
export type WritePosition = string

export interface Queryable {
  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>>
}

export interface ReadOptions {
  /**
   * Read-your-writes: the read must observe at least this write position. A replica that has not
   * replayed that far is skipped and the read goes to the primary.
   */
  readonly after?: WritePosition | undefined
  /** Read on the primary: for reads that must see every committed write (e.g. logins). */
  readonly primary?: boolean
}

export interface Db {
  /** A read that may be served by a replica. */
  read<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[], options?: ReadOptions): Promise<QueryResult<Row>>
  /** A single-statement write on the primary; returns the position that includes it. */
  write<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row> & { readonly position: WritePosition }>
  /** A transaction on the primary; committed when fn resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<{ readonly value: T, readonly position: WritePosition }>
}

export interface CacheSetOptions {
  /** Tags let one write invalidate a family of entries (e.g. every product list). */
  readonly tags?: readonly string[]
}

export interface Cache {
  get<T>(key: string): Promise<T | undefined>
  set<T>(key: string, value: T, ttlSeconds: number, options?: CacheSetOptions): Promise<void>
  delete(...keys: string[]): Promise<void>
  invalidateTags(...tags: string[]): Promise<void>
  /** Cache-aside: return the cached value, or load, store and return it. */
  wrap<T>(key: string, ttlSeconds: number, load: () => Promise<T>, options?: CacheSetOptions): Promise<T>
}

/** The per-request session. Field updates are atomic per field, so concurrent requests never overwrite each other. */
export interface Session {
  readonly id: string | undefined
  get<T>(field: string): Promise<T | undefined>
  getAll(): Promise<Record<string, unknown>>
  set(field: string, value: unknown): Promise<void>
  /** Atomically adds `by` to an integer field and returns the new value. */
  increment(field: string, by: number): Promise<number>
  delete(...fields: string[]): Promise<void>
  /** New session id, same data, old id gone: call on login against session fixation. */
  regenerate(): Promise<void>
  destroy(): Promise<void>
}

/** At most `max` attempts per key in a window of `windowSeconds`, started by the key's first attempt. */
export interface AttemptLimit {
  readonly max: number
  readonly windowSeconds: number
}

export interface AttemptDecision {
  readonly allowed: boolean
  /** Attempts counted in the current window. */
  readonly count: number
  /** When a refused caller may try again (0 when allowed). */
  readonly retryAfterSeconds: number
}

/**
 * Attempt counters per key (an account, a client address), shared by every instance of the
 * service: in the session engine — Redis when the stack has it, this process otherwise. For
 * throttling logins and other guessable operations.
 */
export interface RateLimiter {
  /**
   * Counts one attempt, before doing the work, so concurrent attempts cannot slip past the limit;
   * refused once the window holds more than `limit.max`.
   */
  hit(key: string, limit: AttemptLimit): Promise<AttemptDecision>
  /** Takes one attempt back (one that turned out fine, e.g. a successful login); never below zero. */
  refund(key: string): Promise<void>
  /** Forgets the key's attempts, e.g. an account's failed logins after a successful one. */
  reset(key: string): Promise<void>
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }

export interface EnqueueOptions {
  /** A job id makes enqueueing idempotent: a second enqueue with the same id is a no-op. */
  readonly jobId?: string
  readonly attempts?: number
}

export interface Jobs {
  enqueue(name: string, payload: JsonValue, options?: EnqueueOptions): Promise<{ readonly id: string }>
}

export interface Logger {
  info(obj: unknown, msg?: string): void
  warn(obj: unknown, msg?: string): void
  error(obj: unknown, msg?: string): void
}

/** What application code receives. */
export interface Ports {
  readonly db: Db
  readonly cache: Cache
  readonly jobs: Jobs
  readonly rateLimiter: RateLimiter
  readonly instanceId: string
  readonly adminToken: string
  readonly log: Logger
}

export interface JobContext extends Ports {
  readonly jobId: string
  readonly attempt: number
}

export type JobHandler = (payload: JsonValue, context: JobContext) => Promise<unknown>
