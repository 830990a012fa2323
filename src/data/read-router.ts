import { dbReadRouting } from '../runtime/metrics.js'
import { PRIMARY_ONLY_POSITION, type WritePosition } from '../runtime/ports.js'
import { parseLsn } from './lsn.js'
import type { ReplicaTracker } from './replica-tracker.js'
import type { SqlPool } from './sql-pool.js'

/** A server reads may go to, with what is known of it. */
export interface ReadServer {
  readonly name: string
  readonly pool: SqlPool
  readonly tracker: ReplicaTracker
  /** A member may lead: it serves reads only while it is not the leader and is in recovery. */
  readonly member: boolean
}

/**
 * Picks the server for a read, round robin over those that may serve it.
 *
 * Read-your-writes across a timeline change: LSNs keep growing across a promotion (the new
 * timeline starts at the switch point, where the promoted replica's WAL ended), so a position
 * from the old timeline is still a lower bound on the new primary and on the replicas that follow
 * it. What a position does not say is its timeline: a replica that went on receiving the old
 * primary's WAL past the switch point has "replayed" positions of the new timeline without having
 * their writes. So a read that must see a position is served only by a replica whose timeline is
 * at least the cluster's — the highest any server or write has reported.
 */
export class ReadRouter {
  readonly #servers: readonly ReadServer[]
  #next = 0
  /** The highest timeline a write's position was read on. */
  #writeTimeline = 0

  constructor (servers: readonly ReadServer[]) {
    this.#servers = servers
  }

  get servers (): readonly ReadServer[] { return this.#servers }

  /** A write's position was read on this timeline. */
  noteWriteTimeline (timeline: number): void {
    if (timeline > this.#writeTimeline) this.#writeTimeline = timeline
  }

  /** The highest timeline seen: the primary's, unless a newer one was promoted. */
  clusterTimeline (): number {
    return this.#servers.reduce((max, s) => Math.max(max, s.tracker.timeline), this.#writeTimeline)
  }

  /** Whether `server` may serve reads at all while `leader` leads. */
  serves (server: ReadServer, leader: string | undefined): boolean {
    if (!server.tracker.healthy) return false
    return !server.member || (server.name !== leader && server.tracker.inRecovery)
  }

  /** A server that may serve a read after `after` (round robin), or undefined: the read needs the primary. */
  pick (after: WritePosition | undefined, leader: string | undefined, reason: 'replica' | 'primary_down', except?: ReadServer): ReadServer | undefined {
    const count = this.#servers.length
    if (count === 0) {
      dbReadRouting.inc({ reason: 'no_replica' })
      return undefined
    }
    if (after === PRIMARY_ONLY_POSITION) {
      dbReadRouting.inc({ reason: 'primary_only' })
      return undefined
    }
    const required = after === undefined ? undefined : parseLsn(after)
    const timeline = required === undefined ? 0 : this.clusterTimeline()
    for (let i = 0; i < count; i++) {
      const server = this.#servers[(this.#next + i) % count] as ReadServer
      if (server === except || !this.serves(server, leader)) continue
      if (required !== undefined && (!server.tracker.hasReplayed(required) || server.tracker.timeline < timeline)) {
        server.tracker.want(required, timeline)
        continue
      }
      this.#next = (this.#next + i + 1) % count
      dbReadRouting.inc({ reason })
      return server
    }
    dbReadRouting.inc({ reason: 'replica_behind' })
    return undefined
  }
}
