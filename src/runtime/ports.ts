import type { Notices } from '../notices/notices.js'
import type { Events, PublishOptions } from '../events/bus.js'
import type { StaticStore } from '../static-store/store.js'

/**
 * The ports an application is written against. Adapters implement them; configuration picks the
 * adapters; the application never imports one.
 */

export interface QueryResult<Row> {
  readonly rows: Row[]
  readonly rowCount: number
}

/**
 * A position in the primary's write history (a PostgreSQL WAL LSN). Positions have a fixed width
 * ('00000000/016B3748'), so their string order is their order: a session can keep the greater of
 * two with a plain string comparison.
 */
export type WritePosition = string

/**
 * The position a write reports when it committed but its real position could not be read (the
 * connection failed right after COMMIT). It is the greatest position there is: no replica ever
 * reaches it, so every read `after` it goes to the primary, which has the write.
 */
export const PRIMARY_ONLY_POSITION: WritePosition = 'FFFFFFFF/FFFFFFFF'

export interface Queryable {
  /**
   * One statement with `params`; or, without parameters, several separated by semicolons, which
   * take one round trip and answer with the last one's result.
   */
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
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<{ readonly value: T, readonly position: WritePosition }>
}

/** A transaction's handle: its statements, and its outbox (jobs and events that commit with it). */
export interface Transaction extends Queryable {
  readonly outbox: Outbox
}

/**
 * The transactional outbox (docs/outbox.md): jobs and events written in the transaction of the
 * change they follow from, so they exist exactly when the change committed. A relay hands them to
 * the jobs port and the event bus after the commit, at least once: job ids and event ids are
 * fixed at write time, so a redelivery is recognizable (a duplicate enqueue is a no-op; consumers
 * deduplicate events by id). Bad input throws OUTGROW_VALIDATION and writes nothing. Entries are
 * written just before the transaction's next statement or its commit, all pending ones in one INSERT;
 * a failure to write them comes out of that statement or of the transaction, not of this call.
 */
export interface Outbox {
  /** A job to enqueue after commit; without a jobId, one derived from the outbox entry. */
  job(name: string, payload: JsonValue, options?: EnqueueOptions): Promise<void>
  /** An event to publish after commit; without an id, one derived from the outbox entry. */
  event(topic: string, data: JsonValue, options?: PublishOptions): Promise<void>
}

export interface CacheSetOptions {
  /** Tags let one write invalidate a family of entries (e.g. every product list). */
  readonly tags?: readonly string[]
}

/** What a cache-aside load is told. */
export interface LoadContext {
  /**
   * The key (or one of its tags) was invalidated after a write at this position, recently: the
   * load must read at or after it (pass it as `after` to `db.read`), so a lagging replica's old
   * row is never cached.
   */
  readonly after?: WritePosition | undefined
}

/** What one write invalidates, and that write's position. */
export interface Invalidation {
  readonly keys?: readonly string[]
  readonly tags?: readonly string[]
  /** The write's position: loads of these keys and tags for a while read at or after it. */
  readonly after?: WritePosition | undefined
  /**
   * The versions the write gave these keys' rows (key → version): a write-through of an older
   * version that arrives after this invalidation is refused (see Cache.setVersioned).
   */
  readonly versions?: Readonly<Record<string, number>> | undefined
}

/** A write-through's version and options. */
export interface VersionedSetOptions extends CacheSetOptions {
  /**
   * The version of the row the value was read from, as the committed write left it: a
   * non-negative safe integer that every write to the row raises (e.g. `version = version + 1`).
   */
  readonly version: number
  /** The write's position: loads of this key for a while read at or after it. */
  readonly after?: WritePosition | undefined
}

export interface Cache {
  get<T>(key: string): Promise<T | undefined>
  /** Several look-ups in one round trip; the values in the keys' order, undefined for a miss. */
  getMany<T>(keys: readonly string[]): Promise<Array<T | undefined>>
  set<T>(key: string, value: T, ttlSeconds: number, options?: CacheSetOptions): Promise<void>
  /** Several sets in one round trip, with one TTL and the same tags. */
  setMany<T>(entries: ReadonlyArray<{ readonly key: string, readonly value: T }>, ttlSeconds: number, options?: CacheSetOptions): Promise<void>
  delete(...keys: string[]): Promise<void>
  invalidateTags(...tags: string[]): Promise<void>
  /** Deletes keys and invalidates tags after a write; later loads of them read at or after its position. */
  invalidate(what: Invalidation): Promise<void>
  /** Cache-aside: return the cached value, or load, store and return it. */
  wrap<T>(key: string, ttlSeconds: number, load: (context: LoadContext) => Promise<T>, options?: CacheSetOptions): Promise<T>
  /**
   * Write-through, after the write committed: stores the row's new value with its version, kept
   * only if that version is newer than the one the key last had (a racing older write-through
   * loses, and so does a loader that read the row before this write). True when stored; when
   * refused or when the cache cannot answer, the key is left without this value (a later load
   * reads the database).
   */
  setVersioned<T>(key: string, value: T, ttlSeconds: number, options: VersionedSetOptions): Promise<boolean>
}

/** One write handed to write-behind, as its applier receives it. */
export interface DeferredWrite {
  /** Its position in its partition's stream (increasing; a re-delivered write has the same id). */
  readonly id: string
  readonly key: string
  readonly payload: JsonValue
}

/**
 * Durable write-behind: a write is acknowledged once it is durably queued, and applied to the
 * database later, in batches, in order per key, by the service's appliers
 * (ServiceDefinition.writeBehind). For writes whose readers tolerate lag (counters, last-seen
 * times), never for money or stock.
 */
export interface WriteBehind {
  /**
   * Queues a write to `stream` (a name the service has an applier for) for `key`. Resolves once
   * it is durable: it will be applied, after writes appended before it for the same key.
   */
  append(stream: string, key: string, payload: JsonValue): Promise<void>
}

/** The per-request session. Field updates are atomic per field, so concurrent requests never overwrite each other. */
export interface Session {
  readonly id: string | undefined
  get<T>(field: string): Promise<T | undefined>
  getAll(): Promise<Record<string, unknown>>
  set(field: string, value: unknown): Promise<void>
  /** Atomically adds `by` to an integer field and returns the new value. */
  increment(field: string, by: number): Promise<number>
  /**
   * Atomically keeps the greater of a string field and value (byte-wise string order, meant for
   * fixed-width values such as write positions) and returns it: concurrent requests cannot
   * replace a greater value with a smaller one.
   */
  max(field: string, value: string): Promise<string>
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
  /**
   * A job id makes enqueueing idempotent: an enqueue with the id of a job that waits, runs, or
   * finished within the queue's retention (by default the last 1000 completed or failed jobs,
   * at most 24 h old; see JobIdRetention) is a no-op that returns the same id.
   */
  readonly jobId?: string
  readonly attempts?: number
  /** Waits between attempts (default: the job type's, else 100 ms doubling, capped at 10 s, ±20 % jitter). */
  readonly backoff?: JobBackoff
  /** Runs no earlier than this many milliseconds from now. */
  readonly delayMs?: number
  /** Runs no earlier than this time (epoch milliseconds or a Date); the later of delayMs and runAt wins. */
  readonly runAt?: number | Date
}

/** Exponential back-off: delayMs, then twice that, … at most maxMs, each wait varied by ±jitter (a fraction). */
export interface JobBackoff {
  readonly delayMs: number
  readonly maxMs?: number
  readonly jitter?: number
}

/** Per job type defaults (ServiceDefinition.jobOptions); an enqueue's own options win. */
export interface JobTypeOptions {
  readonly attempts?: number
  readonly backoff?: JobBackoff
}

/**
 * A job enqueued on a schedule (ServiceDefinition.repeat): every `everyMs`, or on a cron pattern
 * (`*\/5 * * * *`, UTC). One run per tick, whatever the number of processes that run jobs.
 */
export interface RepeatableJob {
  /** The job type (a key of ServiceDefinition.jobs). */
  readonly name: string
  readonly everyMs?: number
  readonly cron?: string
  readonly payload?: JsonValue
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
  /** Signals pushed to browsers (the "job is done" notice): see src/notices/notices.ts. */
  readonly notices: Notices
  readonly writeBehind: WriteBehind
  /** Domain events out (src/events, docs/events.md); services consume them through ServiceDefinition.subscriptions. */
  readonly events: Events
  readonly rateLimiter: RateLimiter
  /** The static store the gateways serve (src/static-store, docs/prerender.md); absent where the stack has none. */
  readonly staticStore?: StaticStore
  readonly instanceId: string
  readonly adminToken: string
  readonly log: Logger
}

export interface JobContext extends Ports {
  readonly jobId: string
  readonly attempt: number
  /** Records the job's progress (a percentage or any JSON), visible to job listings; forward it as a notice if a browser waits. */
  readonly progress: (value: JsonValue) => Promise<void>
}

export type JobHandler = (payload: JsonValue, context: JobContext) => Promise<unknown>

/**
 * Applies a batch of deferred writes (stream order; for one key, in the order they were
 * appended) inside one database transaction. A batch the transaction committed is never applied
 * again (write-behind records how far each partition got, in that transaction); a batch that
 * throws is retried, so it must not fail on data it cannot apply (skip such writes instead).
 */
export type WriteBehindApplier = (batch: readonly DeferredWrite[], tx: Queryable) => Promise<void>
