/**
 * A simulated PostgreSQL for the HA simulation: a WAL that is a list of write ids (the LSN is its
 * length), a timeline, a role, streaming from the member it follows, synchronous_standby_names,
 * and the fence as a deadline on the node's own clock, checked by the server itself — so a node
 * whose agent is frozen stops taking writes on time, as the fence keeper guarantees.
 */
import type { Clock } from '../../src/control/clock.js'
import type { LocalPostgres, PostgresStatus } from '../../src/ha/local.js'

export class SimPostgres implements LocalPostgres {
  running = true
  role: 'primary' | 'replica'
  timeline = 1
  log: number[] = []
  following: string | null
  diverged = false
  syncStandbys: string[] = []
  syncChangedAtLsn = 0
  /** Non-strict synchronous mode: an empty list means commits are acknowledged on the primary alone. */
  strict = true
  syncOff = false
  timelineStartLsn = 0
  /** Writable while the node's clock is below this; -Infinity = fenced. */
  writableUntil = -Infinity
  /** Writes this server took as primary, waiting for a synchronous standby: position → id. */
  readonly pending = new Map<number, number>()
  /** Killed by a fault that has not healed: nothing can start it (its disk, say, is gone for now). */
  heldDown = false
  /** How long a status query takes to answer (a loaded server). */
  statusLatencyMs = 0
  private incarnation = 0

  constructor (
    readonly name: string,
    /** The node's clock (drifting, never frozen: the server and its fence keeper keep running). */
    private readonly nodeClock: Clock,
    /** Real time, for how long slow operations take. */
    private readonly realClock: Clock,
    private readonly random: () => number,
    /** Reaches another member's server when the network lets it, else null. */
    private readonly peer: (from: string, to: string) => SimPostgres | null,
    role: 'primary' | 'replica',
    following: string | null,
  ) {
    this.role = role
    this.following = following
  }

  writable (): boolean {
    return this.running && this.role === 'primary' && this.nodeClock.now() < this.writableUntil
  }

  crash (): void {
    this.running = false
    this.writableUntil = -Infinity
    this.pending.clear()
    this.incarnation++
  }

  /** The supervisor starts it again: same data, same role, read-only until the agent unfences it. */
  restart (): void {
    this.running = true
    this.writableUntil = -Infinity
    this.incarnation++
  }

  async status (): Promise<PostgresStatus> {
    // A loaded server: the answer comes, late (the agent gives up on it after retryTimeoutMs).
    if (this.statusLatencyMs > 0) await this.realClock.sleep(this.statusLatencyMs)
    return {
      running: this.running,
      role: this.role,
      writable: this.writable(),
      lsn: this.log.length,
      timeline: this.timeline,
      following: this.role === 'replica' ? this.following : null,
      diverged: this.role === 'replica' && this.diverged,
      syncStandbys: [...this.syncStandbys],
      syncOff: this.syncOff,
      syncChangedAtLsn: this.syncChangedAtLsn,
      timelineStartLsn: this.timelineStartLsn,
    }
  }

  async promote (): Promise<void> {
    await this.slow(50, 300)
    if (this.role === 'primary') return
    this.role = 'primary'
    this.timeline++
    this.following = null
    this.diverged = false
    this.syncStandbys = []
    this.syncOff = false
    this.syncChangedAtLsn = this.log.length
    this.timelineStartLsn = this.log.length
    this.writableUntil = -Infinity
  }

  async fence (): Promise<void> {
    this.writableUntil = -Infinity
  }

  async unfence (until: number): Promise<void> {
    this.alive()
    if (this.role === 'primary' && this.nodeClock.now() < until) this.writableUntil = until
  }

  async keepWritable (until: number): Promise<void> {
    if (this.writable()) this.writableUntil = Math.max(this.writableUntil, until)
    else this.writableUntil = -Infinity
  }

  async follow (leader: string): Promise<void> {
    this.writableUntil = -Infinity
    this.startIfStopped()
    await this.slow(100, 400)
    this.becomeReplicaOf(leader)
  }

  async start (): Promise<void> {
    this.startIfStopped()
  }

  /** As the real one: stops the server first, so a leader out of reach leaves it stopped. */
  async rewind (leader: string): Promise<void> {
    this.writableUntil = -Infinity
    this.startIfStopped()
    await this.slow(300, 1500)
    this.crash() // a clean stop, as far as this model can tell
    const source = this.peer(this.name, leader)
    if (source === null || !source.running) throw new Error(`pg_rewind: cannot reach ${leader}`)
    this.restart()
    let common = Math.min(this.log.length, source.log.length)
    while (common > 0 && this.log[common - 1] !== source.log[common - 1]) common--
    this.log.length = common
    this.timeline = source.timeline
    this.becomeReplicaOf(leader)
  }

  async setSyncStandbys (names: readonly string[]): Promise<void> {
    this.alive()
    this.syncStandbys = [...names]
    this.syncOff = names.length === 0 && !this.strict
    this.syncChangedAtLsn = this.log.length
  }

  /** Streams up to `batch` WAL records from the member this replica follows. */
  replicate (batch: number): void {
    if (!this.running || this.role !== 'replica' || this.following === null) return
    const source = this.peer(this.name, this.following)
    if (source === null || !source.running || source.role !== 'primary') return
    const shared = Math.min(this.log.length, source.log.length)
    if (this.log.length > source.log.length || (shared > 0 && this.log[shared - 1] !== source.log[shared - 1])) {
      this.diverged = true
      return
    }
    this.diverged = false
    this.timeline = source.timeline
    for (let i = 0; i < batch && this.log.length < source.log.length; i++) this.log.push(source.log[this.log.length] as number)
  }

  private becomeReplicaOf (leader: string): void {
    this.role = 'replica'
    this.following = leader
    this.diverged = false
    this.syncStandbys = []
    this.syncOff = false
    this.pending.clear()
    this.writableUntil = -Infinity
  }

  private async slow (minMs: number, maxMs: number): Promise<void> {
    this.alive()
    const incarnation = this.incarnation
    await this.realClock.sleep(minMs + Math.floor(this.random() * (maxMs - minMs)))
    if (this.incarnation !== incarnation) throw new Error('PostgreSQL restarted meanwhile')
    this.alive()
  }

  private startIfStopped (): void {
    if (this.running) return
    if (this.heldDown) throw new Error('PostgreSQL cannot start: killed by a fault that has not healed')
    this.restart()
  }

  private alive (): void {
    if (!this.running) throw new Error('PostgreSQL is not running')
  }
}
