/**
 * An in-memory DCS with etcd's semantics where the HA agent relies on them: leases that expire on
 * an injected clock and take their keys with them, create-only-if-absent for the leader key,
 * compare-and-set by revision, one global revision counter, leader watches. Faults are injected per
 * member: unreachable (requests fail), slow (each request takes `latencyMs`, applied half-way), and
 * lost replies (applied, but the caller hears a failure). It is the unit tests' and the simulator's
 * store; `client(name)` is the view one member's agent gets.
 */
import type { Clock } from '../../control/clock.js'
import { OutgrowError } from '../../errors/index.js'
import type {
  ClusterSnapshot, Dcs, LeaderListener, LeaderRecord, MemberRecord, MemberStatus, Optime, SwitchoverRecord,
  SwitchoverRequest, SyncState,
} from './port.js'

interface Lease { readonly id: number, ttlMs: number, expiresAt: number }
interface LeaderKey { readonly name: string, readonly leaseId: number, readonly createRevision: number, revision: number }
interface MemberKey { readonly record: MemberRecord, readonly leaseId: number }

export interface MemberFaults {
  /** Requests from this member fail (after `latencyMs`), and its watches hear nothing. */
  unreachable: boolean
  /** Round-trip time of each request on the store's clock; the store applies it half-way. */
  latencyMs: number
  /** Requests are applied but their replies are lost: the caller gets a failure. */
  loseReplies: boolean
}

const HEALTHY: MemberFaults = { unreachable: false, latencyMs: 0, loseReplies: false }

export class MemoryDcsStore {
  private revision = 1
  private nextLeaseId = 1
  private readonly leases = new Map<number, Lease>()
  private leader: LeaderKey | null = null
  private termRevision: number | null = null
  private readonly members = new Map<string, MemberKey>()
  private sync: SyncState = { leader: null, standbys: [], revision: null }
  private switchover: SwitchoverRecord | null = null
  private optime: Optime | null = null
  private readonly faults = new Map<string, MemberFaults>()
  private readonly watchers = new Set<{ member: string, listener: LeaderListener }>()

  constructor (readonly clock: Clock, private readonly config: Readonly<Record<string, unknown>> | null = null) {}

  /** The DCS as member `name` sees it (its faults apply to every call). */
  client (name: string): Dcs {
    return new MemoryDcsClient(this, name)
  }

  setFaults (member: string, faults: Partial<MemberFaults>): void {
    this.faults.set(member, { ...this.faultsOf(member), ...faults })
  }

  healAll (): void {
    this.faults.clear()
  }

  faultsOf (member: string): MemberFaults {
    return this.faults.get(member) ?? HEALTHY
  }

  /** Expires what is due; call it as time passes so that watchers hear of expired leader keys. */
  tick (): void {
    const now = this.clock.now()
    for (const lease of [...this.leases.values()]) {
      if (lease.expiresAt > now) continue
      this.leases.delete(lease.id)
      if (this.leader?.leaseId === lease.id) this.setLeader(null)
      for (const [name, key] of this.members) {
        if (key.leaseId === lease.id) { this.members.delete(name); this.revision++ }
      }
    }
  }

  /** The leader key as the store holds it now (for tests and invariant checks; agents use snapshots). */
  currentLeader (): LeaderRecord | null {
    this.tick()
    return this.leader === null ? null : this.leaderRecord(this.leader)
  }

  snapshot (): ClusterSnapshot {
    this.tick()
    const members = [...this.members.values()].map((m) => m.record).sort((a, b) => a.name.localeCompare(b.name))
    return Object.freeze({
      revision: this.revision,
      leader: this.leader === null ? null : Object.freeze(this.leaderRecord(this.leader)),
      termRevision: this.termRevision,
      members: Object.freeze(members),
      sync: this.sync,
      switchover: this.switchover,
      optime: this.optime,
      config: this.config,
    })
  }

  acquire (member: string, ttlMs: number, termRevision: number | null): boolean {
    this.tick()
    if (this.leader !== null || this.termRevision !== termRevision) return false
    const lease = this.grant(ttlMs)
    this.revision++
    this.termRevision = this.revision
    this.setLeader({ name: member, leaseId: lease.id, createRevision: this.revision, revision: this.revision })
    return true
  }

  renew (member: string, optime: Optime | undefined): boolean {
    this.tick()
    if (this.leader === null || this.leader.name !== member) return false
    const lease = this.leases.get(this.leader.leaseId)
    if (lease === undefined) return false
    lease.expiresAt = this.clock.now() + lease.ttlMs
    if (optime !== undefined) this.writeOptime(optime)
    return true
  }

  release (member: string, optime: Optime | undefined): boolean {
    this.tick()
    if (this.leader === null || this.leader.name !== member) return false
    this.leases.delete(this.leader.leaseId)
    if (optime !== undefined) this.writeOptime(optime)
    this.setLeader(null)
    return true
  }

  touch (member: string, status: MemberStatus, ttlMs: number): void {
    this.tick()
    const existing = this.members.get(member)
    let lease = existing === undefined ? undefined : this.leases.get(existing.leaseId)
    if (lease === undefined) lease = this.grant(ttlMs)
    lease.ttlMs = ttlMs
    lease.expiresAt = this.clock.now() + ttlMs
    this.revision++
    const record: MemberRecord = Object.freeze({ ...status, name: member, revision: this.revision })
    this.members.set(member, { record, leaseId: lease.id })
  }

  casSync (value: { leader: string, standbys: readonly string[] }, expected: number | null): boolean {
    if (this.sync.revision !== expected) return false
    this.revision++
    this.sync = Object.freeze({ leader: value.leader, standbys: Object.freeze([...value.standbys].sort()), revision: this.revision })
    return true
  }

  casSwitchover (value: SwitchoverRequest | null, expected: number | null): boolean {
    if ((this.switchover?.revision ?? null) !== expected) return false
    this.revision++
    this.switchover = value === null ? null : Object.freeze({ from: value.from, to: value.to, revision: this.revision })
    return true
  }

  watch (member: string, listener: LeaderListener): () => void {
    const entry = { member, listener }
    this.watchers.add(entry)
    return () => { this.watchers.delete(entry) }
  }

  private grant (ttlMs: number): Lease {
    const lease = { id: this.nextLeaseId++, ttlMs, expiresAt: this.clock.now() + ttlMs }
    this.leases.set(lease.id, lease)
    return lease
  }

  private writeOptime (optime: Optime): void {
    this.revision++
    this.optime = Object.freeze({ ...optime })
  }

  private leaderRecord (key: LeaderKey): LeaderRecord {
    return { name: key.name, createRevision: key.createRevision, revision: key.revision, leaseExpiresAt: this.leases.get(key.leaseId)?.expiresAt ?? 0 }
  }

  private setLeader (key: LeaderKey | null): void {
    if (key === null) this.revision++
    this.leader = key
    const record = key === null ? null : this.leaderRecord(key)
    for (const { member, listener } of this.watchers) {
      if (this.faultsOf(member).unreachable) continue
      queueMicrotask(() => { listener(record) })
    }
  }
}

class MemoryDcsClient implements Dcs {
  constructor (private readonly store: MemoryDcsStore, private readonly name: string) {}

  getCluster (): Promise<ClusterSnapshot> { return this.call(() => this.store.snapshot()) }
  attemptToAcquireLeader (member: string, ttlMs: number, termRevision: number | null): Promise<boolean> {
    return this.call(() => this.store.acquire(member, ttlMs, termRevision))
  }
  updateLeader (member: string, optime?: Optime): Promise<boolean> { return this.call(() => this.store.renew(member, optime)) }
  deleteLeader (member: string, optime?: Optime): Promise<boolean> { return this.call(() => this.store.release(member, optime)) }
  touchMember (member: string, status: MemberStatus, ttlMs: number): Promise<void> { return this.call(() => { this.store.touch(member, status, ttlMs) }) }
  setSyncState (value: { leader: string, standbys: readonly string[] }, expected: number | null): Promise<boolean> {
    return this.call(() => this.store.casSync(value, expected))
  }

  setSwitchover (value: SwitchoverRequest | null, expected: number | null): Promise<boolean> {
    return this.call(() => this.store.casSwitchover(value, expected))
  }

  watchLeader (listener: LeaderListener): () => void { return this.store.watch(this.name, listener) }

  private async call<T> (op: () => T): Promise<T> {
    const half = this.store.faultsOf(this.name).latencyMs / 2
    if (half > 0) await this.store.clock.sleep(half)
    if (this.store.faultsOf(this.name).unreachable) return await this.fail(half)
    const result = op()
    if (half > 0) await this.store.clock.sleep(half)
    const faults = this.store.faultsOf(this.name)
    if (faults.unreachable || faults.loseReplies) return await this.fail(0)
    return result
  }

  private async fail (waitMs: number): Promise<never> {
    if (waitMs > 0) await this.store.clock.sleep(waitMs)
    throw new OutgrowError('OUTGROW_DCS_UNAVAILABLE', `DCS unreachable from ${this.name}`)
  }
}
