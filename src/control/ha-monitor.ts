import { OutgrowError } from '../errors/index.js'
import { EtcdClient } from '../ha/dcs/etcd-client.js'
import { EtcdDcs } from '../ha/dcs/etcd.js'
import type { ClusterSnapshot } from '../ha/dcs/port.js'
import type { EventLog } from './event-log.js'

export type HaNodeRole = 'leader' | 'sync standby' | 'replica' | 'stopped'

/** One HA cluster as the store shows it, for status. */
export interface HaClusterView {
  readonly leader: string | null
  /** By member name; a node absent has no live record (down, or not started yet). */
  readonly roles: Readonly<Record<string, HaNodeRole>>
  readonly syncStandbys: readonly string[]
  readonly switchover: { readonly from: string | null, readonly to: string } | null
  readonly timeline: number | null
}

export interface HaMonitorOptions {
  readonly clusters: readonly string[]
  readonly etcdHosts: readonly string[]
  readonly events: EventLog
  readonly pollMs?: number
}

/**
 * The supervisor's read of the HA clusters in etcd: each node's role for status, an event whenever
 * the leader changes (so a failover shows in `outgrow events`), and the switchover request the
 * leader's agent honours. It decides nothing: the agents elect.
 */
export class HaMonitor {
  readonly #client: EtcdClient
  readonly #dcs = new Map<string, EtcdDcs>()
  readonly #views = new Map<string, HaClusterView>()
  /** The last leader seen per cluster, so that "X leads (was Y)" spans the moment without one. */
  readonly #lastLeader = new Map<string, string>()
  readonly #events: EventLog
  readonly #timer: NodeJS.Timeout
  #polling = false

  constructor (options: HaMonitorOptions) {
    this.#client = new EtcdClient({ hosts: [...options.etcdHosts], callTimeoutMs: 1000 })
    for (const cluster of options.clusters) this.#dcs.set(cluster, new EtcdDcs({ client: this.#client, cluster }))
    this.#events = options.events
    this.#timer = setInterval(() => { void this.poll() }, options.pollMs ?? 500)
    this.#timer.unref()
  }

  view (cluster: string): HaClusterView | undefined { return this.#views.get(cluster) }
  views (): Record<string, HaClusterView> { return Object.fromEntries(this.#views) }

  async poll (): Promise<void> {
    if (this.#polling) return
    this.#polling = true
    try {
      for (const [cluster, dcs] of this.#dcs) {
        const snapshot = await dcs.getCluster().catch(() => null)
        if (snapshot !== null) this.#update(cluster, snapshot)
      }
    } finally {
      this.#polling = false
    }
  }

  #update (cluster: string, s: ClusterSnapshot): void {
    const leader = s.leader?.name ?? null
    const roles: Record<string, HaNodeRole> = {}
    for (const m of s.members) {
      roles[m.name] = m.name === leader ? 'leader' : m.role === 'stopped' ? 'stopped' : s.sync.leader === leader && s.sync.standbys.includes(m.name) ? 'sync standby' : 'replica'
    }
    const before = this.#views.get(cluster)
    const view: HaClusterView = {
      leader, roles, syncStandbys: s.sync.standbys, switchover: s.switchover === null ? null : { from: s.switchover.from, to: s.switchover.to }, timeline: s.optime?.timeline ?? null,
    }
    this.#views.set(cluster, view)
    if (before !== undefined && before.leader === leader) return
    const was = this.#lastLeader.get(cluster)
    if (leader === null) {
      if (before?.leader != null) this.#events.append({ actor: 'ha', action: 'leader', target: cluster, result: 'observed', detail: `no leader: ${before.leader} no longer holds the leader key, election under way` })
      return
    }
    this.#lastLeader.set(cluster, leader)
    const why = was === undefined || was === leader ? '' : ` (was ${was})`
    this.#events.append({ actor: 'ha', action: 'leader', target: cluster, result: 'observed', detail: `${leader} leads${why}` })
  }

  /**
   * Asks the leader of `cluster` to hand over to `to` (the most advanced healthy synchronous
   * standby, else replica, when absent): it fences, waits for `to` to catch up, releases the key.
   */
  async switchover (cluster: string, to?: string): Promise<{ from: string, to: string }> {
    const dcs = this.#dcs.get(cluster)
    if (dcs === undefined) throw new OutgrowError('OUTGROW_NOT_FOUND', `no HA cluster ${cluster} (have: ${[...this.#dcs.keys()].join(', ') || 'none'})`)
    const s = await dcs.getCluster()
    const from = s.leader?.name
    if (from === undefined) throw new OutgrowError('OUTGROW_CONFLICT', `switchover refused: ${cluster} has no leader now (an election is under way)`)
    if (s.switchover !== null) throw new OutgrowError('OUTGROW_CONFLICT', `switchover refused: one to ${s.switchover.to} is already under way`)
    const candidates = s.members.filter((m) => m.name !== from && m.role === 'replica' && m.healthy && m.following === from)
    const syncFirst = [...candidates].sort((a, b) => Number(s.sync.standbys.includes(b.name)) - Number(s.sync.standbys.includes(a.name)) || b.lsn - a.lsn)
    const target = to ?? syncFirst[0]?.name
    if (target === undefined) throw new OutgrowError('OUTGROW_CONFLICT', `switchover refused: no healthy replica streams from the leader ${from}`)
    if (target === from) throw new OutgrowError('OUTGROW_CONFLICT', `switchover refused: ${target} already leads`)
    if (!candidates.some((m) => m.name === target)) {
      throw new OutgrowError('OUTGROW_CONFLICT', `switchover refused: ${target} is not a healthy replica streaming from ${from} (candidates: ${candidates.map((m) => m.name).join(', ') || 'none'})`)
    }
    if (!await dcs.setSwitchover({ from, to: target }, null)) throw new OutgrowError('OUTGROW_CONFLICT', 'switchover refused: another request was written meanwhile')
    this.#events.append({ actor: 'cli', action: 'switchover', target: cluster, result: 'requested', detail: `${from} → ${target}` })
    return { from, to: target }
  }

  close (): void {
    clearInterval(this.#timer)
    this.#client.close()
  }
}
