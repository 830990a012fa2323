import type { Lease } from 'etcd3'
import { call } from './etcd-errors.js'

/**
 * An etcd lease: keys put under it disappear when it expires. Two ways to keep it alive:
 * - `keepAlive: 'auto'`: etcd3 sends a keepalive every TTL/3 from this process for as long as it
 *   runs (a member key that says "this agent is up");
 * - `keepAlive: 'manual'`: only `keepAliveOnce()` renews it, as Patroni's HA loop does once per
 *   cycle: a loop that stalls lets its leader key expire, which is the point.
 */
export class EtcdLease {
  readonly #lease: Lease
  /** The lease's id as etcd numbers it (an int64, in decimal). */
  readonly id: string
  /** The TTL etcd granted (s): it raises TTLs below 1.5 election timeouts. */
  readonly ttl: number
  #lost: Error | undefined

  private constructor (lease: Lease, id: string, ttl: number) {
    this.#lease = lease
    this.id = id
    this.ttl = ttl
    lease.on('lost', (err) => { this.#lost = err })
  }

  /** Grants a lease of ttlSeconds (Patroni: lease_grant / create_lease). */
  static async grant (lease: Lease): Promise<EtcdLease> {
    lease.on('lost', () => {})
    return await call('lease', async () => {
      const id = await lease.grant()
      // A first keepalive returns the TTL etcd actually granted.
      const { TTL } = await lease.keepaliveOnce()
      return new EtcdLease(lease, id, Number(TTL))
    })
  }

  /** Why the automatic keepalives gave up (etcd said the lease is gone), if they did. */
  get lost (): Error | undefined { return this.#lost }

  /**
   * Renews it once and resolves with the TTL it has again (Patroni: refresh_lease). Throws
   * OUTGROW_DCS_PRECONDITION_FAILED (lease-not-found) once it has expired: grant a new one.
   */
  async keepAliveOnce (): Promise<number> {
    return await call(`lease ${this.id}`, async () => Number((await this.#lease.keepaliveOnce()).TTL))
  }

  /** Stops renewing it and lets it expire after its TTL, with every key under it. */
  release (): void {
    this.#lease.release()
  }

  /** Ends it now: every key under it is deleted at once (Patroni: a clean shutdown). */
  async revoke (): Promise<void> {
    await call(`lease ${this.id}`, async () => { await this.#lease.revoke() })
  }
}
