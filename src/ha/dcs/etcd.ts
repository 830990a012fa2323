/**
 * The DCS port on etcd v3, laid out like Patroni's etcd3 DCS under one prefix per cluster:
 *
 *   /outgrow/<cluster>/leader          member name, on the leader's own lease (manual keepalive)
 *   /outgrow/<cluster>/term            member name, no lease; its mod_revision is the term revision
 *   /outgrow/<cluster>/members/<name>  JSON MemberStatus, on that member's lease
 *   /outgrow/<cluster>/sync            JSON { leader, standbys }, compare-and-set on mod_revision
 *   /outgrow/<cluster>/switchover      JSON { from, to }, compare-and-set on mod_revision
 *   /outgrow/<cluster>/optime          JSON { lsn, timeline }, written by the leader, no lease
 *   /outgrow/<cluster>/config          JSON, written out of band (read only here)
 *   /outgrow/<cluster>/initialize      member name of the node that initdb'd the cluster, no lease
 *
 * Leases are renewed only from the agent's loop (keepAliveOnce), never by a background timer: an
 * agent that stalls loses its keys, which is the point. One EtcdDcs serves one member (it holds
 * that member's leases); the store itself is shared.
 */
import { isPreconditionFailed, type EtcdClient, type EtcdLease, type EtcdWatch, type KeyValue, type WatchEvent } from './etcd-client.js'
import type {
  ClusterSnapshot, Dcs, LeaderListener, LeaderRecord, MemberRecord, MemberStatus, Optime, SwitchoverRecord, SwitchoverRequest, SyncState,
} from './port.js'

export interface EtcdDcsOptions {
  readonly client: EtcdClient
  /** Cluster name: the keys live under /outgrow/<cluster>/. */
  readonly cluster: string
  /** Leader lease length when the key must be rebound before this process acquired it (default 3 s). */
  readonly leaderTtlMs?: number
}

/** etcd leases have whole seconds; round up so the lease never ends before the agent's own limit. */
const seconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000))

export class EtcdDcs implements Dcs {
  readonly prefix: string
  readonly #client: EtcdClient
  #leaderLease: EtcdLease | undefined
  /** The leader lease's length, kept for rebinding the key onto a fresh lease after a restart. */
  #leaderTtlSeconds: number
  readonly #memberLeases = new Map<string, EtcdLease>()

  constructor (options: EtcdDcsOptions) {
    this.#client = options.client
    this.prefix = `/outgrow/${options.cluster}/`
    this.#leaderTtlSeconds = seconds(options.leaderTtlMs ?? 3000)
  }

  key (name: 'leader' | 'term' | 'sync' | 'switchover' | 'optime' | 'config' | 'initialize' | `members/${string}`): string {
    return this.prefix + name
  }

  async getCluster (): Promise<ClusterSnapshot> {
    const { revision, values } = await this.#client.getPrefix(this.prefix)
    const byKey = new Map(values.map((kv) => [kv.key.slice(this.prefix.length), kv]))
    const leaderKv = byKey.get('leader')
    const members: MemberRecord[] = []
    for (const [key, kv] of byKey) {
      if (!key.startsWith('members/')) continue
      const status = parseJson<MemberStatus>(kv.value)
      if (status !== null) members.push(Object.freeze({ ...status, name: key.slice('members/'.length), revision: kv.modRevision }))
    }
    members.sort((a, b) => a.name.localeCompare(b.name))
    const syncKv = byKey.get('sync')
    const sync = syncKv === undefined ? null : parseJson<{ leader: string | null, standbys: string[] }>(syncKv.value)
    const switchoverKv = byKey.get('switchover')
    const switchover = switchoverKv === undefined ? null : parseJson<SwitchoverRequest>(switchoverKv.value)
    const optimeKv = byKey.get('optime')
    const optime = optimeKv === undefined ? null : parseJson<Optime>(optimeKv.value)
    const configKv = byKey.get('config')
    return Object.freeze({
      revision,
      leader: leaderKv === undefined ? null : Object.freeze(leaderRecord(leaderKv)),
      termRevision: byKey.get('term')?.modRevision ?? null,
      members: Object.freeze(members),
      sync: Object.freeze<SyncState>(sync === null || syncKv === undefined
        ? { leader: null, standbys: Object.freeze([]), revision: syncKv?.modRevision ?? null }
        : { leader: sync.leader, standbys: Object.freeze([...sync.standbys].sort()), revision: syncKv.modRevision }),
      switchover: switchover === null || switchoverKv === undefined
        ? null
        : Object.freeze<SwitchoverRecord>({ from: switchover.from, to: switchover.to, revision: switchoverKv.modRevision }),
      optime: optime === null ? null : Object.freeze({ lsn: optime.lsn, timeline: optime.timeline }),
      config: configKv === undefined ? null : Object.freeze(parseJson<Record<string, unknown>>(configKv.value)),
    })
  }

  async attemptToAcquireLeader (member: string, ttlMs: number, termRevision: number | null): Promise<boolean> {
    this.#leaderTtlSeconds = seconds(ttlMs)
    const lease = await this.#client.grantLease(this.#leaderTtlSeconds)
    const leader = this.key('leader')
    let result
    try {
      result = await this.#client.transaction(
        [{ key: leader, target: 'Create', value: 0 }, { key: this.key('term'), target: 'Mod', value: termRevision ?? 0 }],
        [{ put: leader, value: member, lease }, { put: this.key('term'), value: member }],
        [leader],
      )
    } catch (err) {
      lease.release()
      throw err
    }
    // A retry after a time-out that had in fact applied finds the key on this very lease.
    const current = result.current[0]
    if (result.succeeded || (current?.value === member && current.lease === lease.id)) {
      this.#leaderLease = lease
      return true
    }
    await lease.revoke().catch(() => { lease.release() })
    return false
  }

  async updateLeader (member: string, optime?: Optime): Promise<boolean> {
    const leader = this.key('leader')
    let lease = this.#leaderLease
    if (lease !== undefined) {
      try {
        await lease.keepAliveOnce()
      } catch (err) {
        if (!isPreconditionFailed(err)) throw err
        // The lease expired, and the key with it.
        this.#leaderLease = undefined
        return false
      }
    }
    const writes = optime === undefined ? [] : [{ put: this.key('optime'), value: JSON.stringify({ lsn: optime.lsn, timeline: optime.timeline }) }]
    if (lease !== undefined) {
      const held = await this.#client.transaction(
        [{ key: leader, target: 'Value', value: member }, { key: leader, target: 'Lease', value: lease.id }], writes, [leader])
      if (held.succeeded) return true
      if (held.current[0]?.value !== member) return false
    }
    // The key names this member but is not on a lease this process holds (the agent restarted):
    // move it onto a fresh one, only while it still names this member.
    lease = await this.#client.grantLease(this.#leaderTtlSeconds)
    const rebound = await this.#client.transaction([{ key: leader, target: 'Value', value: member }], [{ put: leader, value: member, lease }, ...writes], [leader])
    if (!rebound.succeeded) {
      lease.release()
      return false
    }
    this.#leaderLease = lease
    return true
  }

  async deleteLeader (member: string, optime?: Optime): Promise<boolean> {
    const leader = this.key('leader')
    const writes = optime === undefined ? [] : [{ put: this.key('optime'), value: JSON.stringify(optime) }]
    const result = await this.#client.transaction([{ key: leader, target: 'Value', value: member }], [{ delete: leader }, ...writes])
    if (result.succeeded) {
      this.#leaderLease?.release()
      this.#leaderLease = undefined
    }
    return result.succeeded
  }

  async touchMember (member: string, status: MemberStatus, ttlMs: number): Promise<void> {
    let lease = this.#memberLeases.get(member)
    if (lease !== undefined && lease.ttl === seconds(ttlMs)) {
      try {
        await lease.keepAliveOnce()
      } catch (err) {
        if (!isPreconditionFailed(err)) throw err
        lease = undefined
      }
    } else {
      lease = undefined
    }
    if (lease === undefined) {
      lease = await this.#client.grantLease(seconds(ttlMs))
      this.#memberLeases.set(member, lease)
    }
    const value: MemberStatus = { role: status.role, lsn: status.lsn, timeline: status.timeline, healthy: status.healthy, sync: status.sync, following: status.following }
    await this.#client.put(this.key(`members/${member}`), JSON.stringify(value), { lease })
  }

  async setSyncState (value: { leader: string, standbys: readonly string[] }, expectedRevision: number | null): Promise<boolean> {
    const json = JSON.stringify({ leader: value.leader, standbys: [...value.standbys].sort() })
    return await this.#compareAndSet(this.key('sync'), json, expectedRevision)
  }

  async setSwitchover (value: SwitchoverRequest | null, expectedRevision: number | null): Promise<boolean> {
    return await this.#compareAndSet(this.key('switchover'), value === null ? null : JSON.stringify({ from: value.from, to: value.to }), expectedRevision)
  }

  watchLeader (listener: LeaderListener): () => void {
    let watch: EtcdWatch | undefined
    let stopped = false
    let retry: NodeJS.Timeout | undefined
    const onEvent = (event: WatchEvent): void => {
      listener(event.type === 'delete'
        ? null
        : Object.freeze({ name: event.value, createRevision: event.createRevision, revision: event.modRevision, leaseExpiresAt: 0 }))
    }
    const begin = (): void => {
      this.#client.watch(this.key('leader'), {
        onEvent,
        onState: (state) => {
          // Ended by etcd (compaction): tell the listener something may have changed, and watch anew.
          if (state !== 'failed' || stopped) return
          void watch?.cancel().catch(() => {})
          listener(null)
          retry = setTimeout(begin, 500)
        },
      }).then((w) => {
        if (stopped) void w.cancel().catch(() => {})
        else watch = w
      }, () => {
        // Unreachable for now: the agent's loop notices by itself; try watching again.
        if (!stopped) retry = setTimeout(begin, 1000)
      })
    }
    begin()
    return () => {
      stopped = true
      clearTimeout(retry)
      void watch?.cancel().catch(() => {})
    }
  }

  /**
   * Patroni's initialize key: of members starting from nothing, the one whose transaction creates
   * it initdb's the cluster; the others clone from the leader. True also when it already names
   * `member` (its bootstrap was interrupted and starts again).
   */
  async initialize (member: string): Promise<boolean> {
    const key = this.key('initialize')
    const result = await this.#client.transaction([{ key, target: 'Create', value: 0 }], [{ put: key, value: member }], [key])
    return result.succeeded || result.current[0]?.value === member
  }

  /** Gives the initialize key up after a failed initdb, so that another member may try. */
  async cancelInitialize (member: string): Promise<void> {
    const key = this.key('initialize')
    await this.#client.transaction([{ key, target: 'Value', value: member }], [{ delete: key }])
  }

  /** Gives up every lease this process holds now: its keys go at once (a clean shutdown). */
  async revokeLeases (): Promise<void> {
    const leases = [...this.#memberLeases.values(), ...(this.#leaderLease === undefined ? [] : [this.#leaderLease])]
    this.#memberLeases.clear()
    this.#leaderLease = undefined
    await Promise.allSettled(leases.map(async (lease) => { await lease.revoke() }))
  }

  /** Writes (or, value null, deletes) key only if its mod revision is `expected` (null: only if absent). */
  async #compareAndSet (key: string, value: string | null, expected: number | null): Promise<boolean> {
    const op = value === null ? { delete: key } : { put: key, value }
    const result = await this.#client.transaction([{ key, target: 'Mod', value: expected ?? 0 }], [op])
    return result.succeeded
  }
}

function leaderRecord (kv: KeyValue): LeaderRecord {
  return { name: kv.value, createRevision: kv.createRevision, revision: kv.modRevision, leaseExpiresAt: 0 }
}

function parseJson<T> (text: string): T | null {
  try {
    return JSON.parse(text) as T
  } catch {
    return null
  }
}
