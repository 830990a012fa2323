import { ConsecutiveBreaker, ExponentialBackoff, circuitBreaker, handleWhen, retry } from 'cockatiel'
import { Etcd3, isRecoverableError, type IKeyValue, type IOperation, type ITxnResponse, type PutBuilder } from 'etcd3'
import { call, isPreconditionFailed, preconditionFailed, type PreconditionReason } from './etcd-errors.js'
import { keyValue, type KeyValue } from './etcd-kv.js'
import { EtcdLease } from './etcd-lease.js'
import { startWatch, type EtcdWatch, type WatchOptions } from './etcd-watch.js'

export type { KeyValue } from './etcd-kv.js'
export { EtcdLease } from './etcd-lease.js'
export type { EtcdWatch, WatchEvent, WatchOptions } from './etcd-watch.js'
export { isPreconditionFailed, isUnreachable, type PreconditionReason } from './etcd-errors.js'

export interface EtcdClientOptions {
  /** Client URLs of the cluster's members (`http://127.0.0.1:2379`). */
  readonly hosts: readonly string[]
  /** Deadline of one call to one member (ms); a call that fails tries the next member. */
  readonly callTimeoutMs?: number
}

/** One comparison of a transaction: key's column equals value (a missing key has revisions 0). */
export interface TxnCompare {
  readonly key: string
  readonly target: 'Create' | 'Mod' | 'Value' | 'Lease'
  readonly value: number | string
}

/** One write of a transaction. */
export type TxnOp = { readonly put: string, readonly value: string, readonly lease?: EtcdLease } | { readonly delete: string }

export interface TxnResult {
  readonly succeeded: boolean
  readonly revision: number
  /** When the comparison failed: the keys asked for, as they are now (undefined: absent), in order. */
  readonly current: ReadonlyArray<KeyValue | undefined>
}

export interface LeaseOptions {
  /** `auto`: keepalives from this process every TTL/3; `manual`: only keepAliveOnce() (default). */
  readonly keepAlive?: 'auto' | 'manual'
}

/**
 * The etcd v3 primitives a DCS for leader election needs, in the manner of Patroni's etcd3
 * module: leases, writes conditional on a key's create revision, mod revision or value (each one
 * etcd transaction), prefix reads with revisions, and watches. It knows nothing of the HA core's
 * port; an adapter maps that onto it.
 *
 * Failures are one of two OutgrowErrors (`etcd-errors.ts`): `OUTGROW_DCS_UNAVAILABLE` when no member
 * answered in time (every member is tried, each within callTimeoutMs), and
 * `OUTGROW_DCS_PRECONDITION_FAILED` when etcd answered and the condition did not hold.
 */
export class EtcdClient {
  readonly #etcd: Etcd3
  readonly #watches = new Set<EtcdWatch>()
  readonly #callTimeoutMs: number

  constructor (options: EtcdClientOptions) {
    this.#callTimeoutMs = options.callTimeoutMs ?? 2000
    const timeout = this.#callTimeoutMs
    this.#etcd = new Etcd3({
      hosts: [...options.hosts],
      dialTimeout: timeout,
      defaultCallOptions: (context) => context.isStream ? {} : { deadline: Date.now() + timeout },
      faultHandling: {
        // A member that failed once is skipped for a second; a failed call is tried once on every member.
        host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 1000, breaker: new ConsecutiveBreaker(1) }),
        global: retry(handleWhen(isRecoverableError), { maxAttempts: options.hosts.length }),
        // Watches come back within a second or two of a member's return, not cockatiel's 30 s.
        // (etcd3 calls next() on what it is given, so a backoff state serves as its factory.)
        watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 2000 }).next(),
      },
    })
  }

  /** Grants a lease (Patroni: create_lease). Its TTL is what etcd granted, at least 2 s here. */
  async grantLease (ttlSeconds: number, options: LeaseOptions = {}): Promise<EtcdLease> {
    return await EtcdLease.grant(this.#etcd.lease(ttlSeconds, { autoKeepAlive: options.keepAlive === 'auto' }))
  }

  async get (key: string): Promise<KeyValue | undefined> {
    return await call(key, async () => {
      const kv = (await this.#etcd.get(key).exec()).kvs[0]
      return kv === undefined ? undefined : keyValue(kv)
    })
  }

  /**
   * Every key under prefix, sorted by key, with the revision of the read (Patroni: get_cluster
   * reads the whole cluster prefix at once): watch from `revision + 1` to miss nothing after it.
   */
  async getPrefix (prefix: string): Promise<{ revision: number, values: KeyValue[] }> {
    return await call(prefix, async () => {
      const response = await this.#etcd.getAll().prefix(prefix).sort('Key', 'Ascend').exec()
      return { revision: Number(response.header.revision), values: response.kvs.map(keyValue) }
    })
  }

  /** Writes unconditionally; resolves with the write's revision. */
  async put (key: string, value: string, options: { lease?: EtcdLease } = {}): Promise<number> {
    return await call(key, async () => Number((await this.#put(key, value, options.lease).exec()).header.revision))
  }

  /**
   * Writes key only if it does not exist (create revision 0), under lease if given (Patroni:
   * attempt_to_acquire_leader, initialize). Of two racing callers exactly one succeeds; the other
   * gets PRECONDITION_FAILED (`exists`) with the winner's value. A call retried after a time-out
   * that had in fact applied is recognised (same value, same lease) and succeeds.
   */
  async putIfAbsent (key: string, value: string, options: { lease?: EtcdLease } = {}): Promise<number> {
    return await call(key, async () => {
      const response = await this.#etcd.if(key, 'Create', '==', 0).then(this.#put(key, value, options.lease)).else(this.#etcd.get(key)).commit()
      if (response.succeeded) return Number(response.header.revision)
      const current = currentOf(response)
      if (current !== undefined && current.value === value && current.lease === (options.lease?.id ?? '0')) return current.modRevision
      throw preconditionFailed(key, 'exists', current)
    })
  }

  /**
   * Writes key only if its last write was at modRevision, 0 meaning "does not exist" (Patroni:
   * set_config_value, set_failover_value, set_sync_state_value with an index). A retried call
   * that had applied reports PRECONDITION_FAILED (`revision`): read again and decide.
   */
  async compareAndSet (key: string, value: string, modRevision: number, options: { lease?: EtcdLease } = {}): Promise<number> {
    return await this.#conditional(key, 'Mod', modRevision, 'revision', this.#put(key, value, options.lease))
  }

  /**
   * Attaches key to lease, keeping its value, only while it still holds value (Patroni:
   * update_leader, which moves the leader key onto the leader's current lease). Fails with
   * `value` once another member holds the key, or `lease-not-found` once lease has expired.
   */
  async rebindIfValue (key: string, value: string, lease: EtcdLease): Promise<number> {
    return await this.#conditional(key, 'Value', value, 'value', this.#put(key, value, lease))
  }

  /**
   * Deletes key only while it holds value (Patroni: delete_leader on a clean demotion). A key
   * already gone is not an error; one holding another value fails with `value`.
   */
  async deleteIfValue (key: string, value: string): Promise<void> {
    try {
      await this.#conditional(key, 'Value', value, 'value', this.#etcd.delete().key(key))
    } catch (err) {
      if (isPreconditionFailed(err) && err.details.current === undefined) return
      throw err
    }
  }

  /**
   * One etcd transaction over several keys (Patroni's etcd3 module builds its leader race this
   * way): if every comparison holds, apply `then`; otherwise read `readOnFailure` and apply nothing.
   * A comparison that fails is not an error here: the caller decides from `succeeded` and `current`.
   */
  async transaction (compares: readonly TxnCompare[], then: readonly TxnOp[], readOnFailure: readonly string[] = []): Promise<TxnResult> {
    const first = compares[0]
    if (first === undefined) throw new Error('a transaction needs at least one comparison')
    return await call(first.key, async () => {
      let builder = this.#etcd.if(first.key, first.target, '==', first.value)
      for (const c of compares.slice(1)) builder = builder.and(c.key, c.target, '==', c.value)
      const ops = then.map((op): IOperation => 'put' in op ? this.#put(op.put, op.value, op.lease) : this.#etcd.delete().key(op.delete))
      const response = await builder.then(...ops).else(...readOnFailure.map((key) => this.#etcd.get(key))).commit()
      const current = response.succeeded
        ? []
        : response.responses.map((r) => { const kv = r.response_range?.kvs[0]; return kv === undefined ? undefined : keyValue(kv) })
      return { succeeded: response.succeeded, revision: Number(response.header.revision), current }
    })
  }

  /** Watches key, or every key under it with `prefix: true`; reconnects by itself (etcd-watch.ts). */
  async watch (key: string, options: WatchOptions): Promise<EtcdWatch> {
    const watch = await startWatch(this.#etcd, key, options, this.#callTimeoutMs * 2)
    this.#watches.add(watch)
    return { lastRevision: () => watch.lastRevision(), cancel: async () => { this.#watches.delete(watch); await watch.cancel() } }
  }

  /** Closes every connection; leases with automatic keepalives stop being renewed. */
  close (): void {
    // etcd3 reconnects a watch stream that ends while watchers remain, after close too, for ever:
    // detach every watch first (best effort; the stream is going away anyway).
    for (const watch of this.#watches) void watch.cancel().catch(() => {})
    this.#watches.clear()
    this.#etcd.close()
  }

  #put (key: string, value: string, lease: EtcdLease | undefined): PutBuilder {
    const put = this.#etcd.put(key).value(value)
    return lease === undefined ? put : put.lease(lease.id)
  }

  /** One transaction: if key's column equals expected, run op; else read key for the error. */
  async #conditional (key: string, column: 'Mod' | 'Value', expected: number | string, reason: PreconditionReason, op: IOperation): Promise<number> {
    return await call(key, async () => {
      const response = await this.#etcd.if(key, column, '==', expected).then(op).else(this.#etcd.get(key)).commit()
      if (!response.succeeded) throw preconditionFailed(key, reason, currentOf(response))
      return Number(response.header.revision)
    })
  }
}

/** What the else branch of a transaction read: the key as it is now, if it exists. */
function currentOf (response: ITxnResponse): KeyValue | undefined {
  const kv: IKeyValue | undefined = response.responses[0]?.response_range?.kvs[0]
  return kv === undefined ? undefined : keyValue(kv)
}
