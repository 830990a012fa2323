import type { Redis } from 'ioredis'
import { OutgrowError } from '../errors/index.js'
import type { DependencyHealth, DependencyState, ReportsDependencies } from '../runtime/dependencies.js'
import { adapterLog } from '../runtime/log.js'
import type { JsonValue } from '../runtime/ports.js'
import { callRedis, createFailFastRedis, createRedisClient, type RedisTarget } from '../runtime/redis-client.js'
import { checkNotice } from './check.js'
import { NOTICES_KEPT_PER_AUDIENCE, type Notice, type NoticeListener, type Notices, type NoticeSubscription } from './notices.js'

/** A subscription waits this long for Redis before the caller gets a 503. */
const SUBSCRIBE_TIMEOUT_MS = 2000
/** How long an audience's notices are kept after its last one (seconds). */
const KEEP_SECONDS = 3600

type StreamEntry = [id: string, fields: string[]]

function toNotice ([id, fields]: StreamEntry): Notice | undefined {
  const type = fields[fields.indexOf('type') + 1]
  const raw = fields[fields.indexOf('data') + 1]
  if (type === undefined || raw === undefined) return undefined
  try {
    return { id, type, data: JSON.parse(raw) as JsonValue }
  } catch {
    return undefined
  }
}

/** Stream ids are `<ms>-<seq>`; compared as numbers, never as strings. */
function idAfter (a: string, b: string): boolean {
  const [am = 0n, as = 0n] = a.split('-').map((p) => BigInt(p))
  const [bm = 0n, bs = 0n] = b.split('-').map((p) => BigInt(p))
  return am > bm || (am === bm && as > bs)
}

const STREAM_ID = /^\d{1,20}-\d{1,20}$/

interface Listening {
  readonly audience: string
  readonly listener: NoticeListener
  /** The last id delivered; reads after it. */
  last: string
  /** Reads one at a time, so notices arrive in order and once. */
  reading: Promise<void>
  open: boolean
}

/**
 * Notices in Redis (levels 3–4), shared by every instance: each audience is a stream (XADD,
 * trimmed to about the last 100, expiring an hour after its last notice), and a PUBLISH on one
 * channel wakes the instances that listen for it, which read the stream after the last id they
 * delivered. Pub/sub keeps no messages, so after the subscriber reconnects every listener reads
 * its stream again: a wake-up can be lost, a notice cannot (while it is kept).
 */
export class RedisNotices implements Notices, ReportsDependencies {
  readonly #redis: Redis
  readonly #health: DependencyHealth
  readonly #target: RedisTarget
  readonly #prefix: string
  readonly #byAudience = new Map<string, Set<Listening>>()
  #subscriber: Redis | undefined
  #subscribed: Promise<void> | undefined

  constructor (target: RedisTarget, prefix = 'outgrow:') {
    const { redis, health } = createFailFastRedis(target, 'notices')
    this.#redis = redis
    this.#health = health
    this.#target = target
    this.#prefix = prefix
  }

  get #channel (): string { return `${this.#prefix}notices` }
  #key (audience: string): string { return `${this.#prefix}notices:{${audience}}` }

  async publish (audience: string, type: string, data: JsonValue): Promise<{ id: string }> {
    const json = checkNotice(audience, type, data) as string
    const key = this.#key(audience)
    return await callRedis(this.#health, 'notices', async () => {
      const results = await this.#redis.multi()
        .xadd(key, 'MAXLEN', '~', NOTICES_KEPT_PER_AUDIENCE, '*', 'type', type, 'data', json)
        .expire(key, KEEP_SECONDS)
        .publish(this.#channel, audience)
        .exec()
      const failed = results?.find(([err]) => err !== null)?.[0]
      if (results === null || failed != null) throw failed ?? new Error('notice not stored')
      return { id: String(results[0]?.[1]) }
    })
  }

  async subscribe (audience: string, after: string | undefined, listener: NoticeListener): Promise<NoticeSubscription> {
    checkNotice(audience)
    await this.#listen()
    const entry: Listening = { audience, listener, last: '0-0', reading: Promise.resolve(), open: true }
    if (after !== undefined && STREAM_ID.test(after)) {
      entry.last = after
      // `after` itself is no longer kept: notices after it may have been trimmed (or expired with it).
      const oldest = await callRedis(this.#health, 'notices', async () => await this.#redis.xrange(this.#key(audience), '-', '+', 'COUNT', 1)) as StreamEntry[]
      const first = oldest[0]?.[0]
      if (first === undefined || idAfter(first, after)) listener.onGap?.()
    } else {
      if (after !== undefined) listener.onGap?.()
      // New notices only: everything kept up to now counts as seen.
      const newest = await callRedis(this.#health, 'notices', async () => await this.#redis.xrevrange(this.#key(audience), '+', '-', 'COUNT', 1)) as StreamEntry[]
      entry.last = newest[0]?.[0] ?? '0-0'
    }
    const set = this.#byAudience.get(audience) ?? new Set()
    set.add(entry)
    this.#byAudience.set(audience, set)
    this.#readAfter(entry)
    return {
      close: () => {
        entry.open = false
        set.delete(entry)
        if (set.size === 0 && this.#byAudience.get(audience) === set) this.#byAudience.delete(audience)
      },
    }
  }

  /** Delivers what the stream holds after the entry's last id; chained, so one read at a time. */
  #readAfter (entry: Listening): void {
    entry.reading = entry.reading.then(async () => {
      if (!entry.open) return
      for (;;) {
        const batch = await this.#redis.xrange(this.#key(entry.audience), `(${entry.last}`, '+', 'COUNT', 100) as StreamEntry[]
        for (const raw of batch) {
          entry.last = raw[0]
          const notice = toNotice(raw)
          if (notice !== undefined && entry.open) entry.listener.onNotice(notice)
        }
        if (batch.length < 100 || !entry.open) return
      }
    }).catch((err: unknown) => {
      // The next wake-up (or the resubscription after a reconnect) reads again from the same id.
      adapterLog.warn({ err, audience: entry.audience }, 'notices: reading the stream failed')
    })
  }

  async #listen (): Promise<void> {
    if (this.#subscribed === undefined) this.#startListening()
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => { reject(new OutgrowError('OUTGROW_DEPENDENCY_UNAVAILABLE', `notices (redis) unavailable: not subscribed within ${SUBSCRIBE_TIMEOUT_MS} ms`, { dependency: 'notices' })) }, SUBSCRIBE_TIMEOUT_MS)
    })
    try {
      await Promise.race([this.#subscribed, timedOut])
    } finally {
      clearTimeout(timer)
    }
  }

  #startListening (): void {
    const subscriber = this.#subscriber = createRedisClient(this.#target, { purpose: 'subscriber' })
    subscriber.on('message', (_channel: string, audience: string) => {
      for (const entry of this.#byAudience.get(audience) ?? []) this.#readAfter(entry)
    })
    let first = true
    this.#subscribed = new Promise((resolve) => {
      subscriber.on('ready', () => {
        void subscriber.subscribe(this.#channel).then(() => {
          if (first) { first = false; resolve(); return }
          // Wake-ups published while disconnected are lost: read every stream again.
          for (const set of this.#byAudience.values()) for (const entry of set) this.#readAfter(entry)
        }, (err: unknown) => { adapterLog.warn({ err }, 'notices: subscribe failed') })
      })
    })
  }

  async dependencyStates (): Promise<{ notices: DependencyState }> {
    return { notices: await this.#health.current() }
  }

  async close (): Promise<void> {
    for (const set of this.#byAudience.values()) for (const entry of set) entry.open = false
    this.#byAudience.clear()
    await Promise.all([this.#redis, this.#subscriber].map(async (c) => { await c?.quit().catch(() => { c.disconnect() }) }))
  }
}
