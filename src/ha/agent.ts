/**
 * The HA agent's loop: the thin shell around decide(). Each cycle reads this node's PostgreSQL,
 * reports it to the DCS, reads one snapshot, decides, carries the actions out in order and hands
 * the sentence to `onEvent`. Slow work (promote, follow, rewind) runs asynchronously, one at a
 * time, while the loop keeps renewing the lease (Patroni's AsyncExecutor); when it succeeds the
 * loop runs again at once, when it fails the next regular cycle decides again. A change of the
 * leader key (watch) also wakes the loop.
 *
 * The lease is timed from when a renewal was *sent*: PostgreSQL may stay writable until that
 * moment + ttl - safetyMargin on this node's clock, which is before the store can expire the key.
 */
import type { Clock } from '../control/clock.js'
import { OutgrowError } from '../errors/index.js'
import type { HaAction, LocalState } from './actions.js'
import { writableForMs, type HaConfig } from './config.js'
import { decide, memberStatus } from './decide.js'
import type { ClusterSnapshot, Dcs } from './dcs/port.js'
import type { LocalPostgres, PostgresStatus } from './local.js'

export interface HaEvent {
  /** This node's clock. */
  readonly at: number
  readonly member: string
  /** decide()'s sentence, or the outcome of slow work that finished. */
  readonly message: string
  readonly actions: readonly string[]
  /** What happened to the actions: 'ok', or the first one that failed and why. */
  readonly outcome: string
}

export interface HaAgentOptions {
  readonly name: string
  readonly dcs: Dcs
  readonly postgres: LocalPostgres
  readonly clock: Clock
  readonly config: HaConfig
  readonly onEvent?: (event: HaEvent) => void
}

class Stop extends Error {}

export class HaAgent {
  private lastRenewalAt: number | null = null
  private noLeaderSince: { at: number, revision: number } | null = null
  private busy: string | null = null
  private lastSnapshot: ClusterSnapshot | null = null
  private running = false
  private wake: (() => void) | null = null
  private wakePending = false
  private cycleStartedAt = -Infinity
  private cycleEndedAt: number | null = null
  /** How long this cycle's reads took, for a late renewal's account of where the time went. */
  private cycleTimings = { pauseMs: 0, postgresMs: 0, memberMs: 0, snapshotMs: 0 }
  /** Recovery work (follow, rewind, demotion, start) that failed in a row, and when it may run again. */
  private recoveryFailures = 0
  private recoveryRetryAt = -Infinity
  private unwatch: (() => void) | null = null
  private loop: Promise<void> | null = null

  constructor (private readonly options: HaAgentOptions) {}

  start (): void {
    if (this.running) return
    this.running = true
    this.unwatch = this.options.dcs.watchLeader((leader) => { if (leader?.name !== this.options.name) this.wakeUp() })
    this.loop = (async () => {
      while (this.running) {
        const retryAfterMs = await this.runCycle()
        if (this.running) await this.pause(retryAfterMs ?? this.options.config.loopWaitMs)
      }
    })()
  }

  async stop (): Promise<void> {
    this.running = false
    this.unwatch?.()
    this.wakeUp()
    await this.loop
  }

  /** One cycle; public so that tests can drive the agent step by step. */
  async runCycle (): Promise<number | undefined> {
    const { name, dcs, postgres, clock, config } = this.options
    this.cycleStartedAt = clock.now()
    const pauseMs = this.cycleEndedAt === null ? 0 : this.cycleStartedAt - this.cycleEndedAt
    const pg = await this.timed(postgres.status()).catch(() => null)
    const statusAt = clock.now()
    const isSync = this.lastSnapshot?.sync.standbys.includes(name) ?? false
    await this.timed(dcs.touchMember(name, memberStatus(pg, isSync), config.ttlMs)).catch(() => undefined)
    const touchedAt = clock.now()
    const snapshot = await this.timed(dcs.getCluster()).catch(() => null)
    this.cycleTimings = { pauseMs, postgresMs: statusAt - this.cycleStartedAt, memberMs: touchedAt - statusAt, snapshotMs: clock.now() - touchedAt }
    if (snapshot !== null) {
      this.lastSnapshot = snapshot
      // A term that began after this node first saw no leader may have acknowledged commits since: start over.
      const stale = this.noLeaderSince !== null && (snapshot.termRevision ?? 0) > this.noLeaderSince.revision
      if (snapshot.leader !== null) this.noLeaderSince = null
      else if (this.noLeaderSince === null || stale) this.noLeaderSince = { at: clock.now(), revision: snapshot.revision }
    }
    const local: LocalState = { name, postgres: pg, lastRenewalAt: this.lastRenewalAt, noLeaderSince: this.noLeaderSince, busy: this.busy }
    const decision = decide(snapshot, local, clock.now(), config)
    let outcome = 'ok'
    try {
      for (const action of decision.actions) await this.execute(action, pg)
    } catch (err) {
      outcome = err instanceof Error ? err.message : String(err)
    }
    this.emit(decision.message, decision.actions.map((a) => a.kind), outcome)
    this.cycleEndedAt = clock.now()
    return decision.retryAfterMs
  }

  private async execute (action: HaAction, pg: PostgresStatus | null): Promise<void> {
    const { name, dcs, postgres, clock, config } = this.options
    const optime = pg?.running === true && pg.role === 'primary' ? { lsn: pg.lsn, timeline: pg.timeline } : undefined
    switch (action.kind) {
      case 'renew': {
        const sentAt = clock.now()
        const renewed = await this.timed(dcs.updateLeader(name, optime)).catch((err: unknown) => { throw new Stop(`renew failed: ${describe(err)}`) })
        if (!renewed) {
          this.lastRenewalAt = null
          await postgres.fence()
          throw new Stop('renew refused: the leader key no longer names this node; fenced')
        }
        const previous = this.lastRenewalAt
        this.lastRenewalAt = sentAt
        await postgres.keepWritable(sentAt + writableForMs(config))
        if (previous !== null) this.reportLateRenewal(sentAt - previous, clock.now() - sentAt)
        return
      }
      case 'acquire': {
        const sentAt = clock.now()
        const acquired = await this.timed(dcs.attemptToAcquireLeader(name, config.ttlMs, action.termRevision)).catch((err: unknown) => { throw new Stop(`acquire failed: ${describe(err)}`) })
        if (!acquired) throw new Stop('acquire lost: another member holds the leader key, or took and released it since the snapshot')
        this.lastRenewalAt = sentAt
        this.noLeaderSince = null
        return
      }
      case 'fence': await postgres.fence(); return
      case 'unfence':
        if (this.lastRenewalAt === null) throw new Stop('unfence skipped: no lease')
        await postgres.unfence(this.lastRenewalAt + writableForMs(config))
        return
      case 'promote': this.runAsync('promotion', () => postgres.promote()); return
      case 'demote-to-replica': {
        const leader = action.leader
        this.runRecovery(`demotion to a replica of ${leader}`, () => (action.rewind ? postgres.rewind(leader) : postgres.follow(leader)))
        return
      }
      case 'follow': { const leader = action.leader; this.runRecovery(`following ${leader}`, () => postgres.follow(leader)); return }
      case 'rewind': { const leader = action.leader; this.runRecovery(`rewind to ${leader}`, () => postgres.rewind(leader)); return }
      case 'start': this.runRecovery('starting PostgreSQL', () => postgres.start()); return
      case 'set-sync-standbys':
        if (action.target === 'postgres') { await postgres.setSyncStandbys(action.standbys); return }
        if (!await this.timed(dcs.setSyncState({ leader: name, standbys: action.standbys }, action.expectedRevision))) throw new Stop('sync key changed meanwhile')
        return
      case 'release':
        this.lastRenewalAt = null
        await this.timed(dcs.deleteLeader(name, optime))
        return
      case 'clear-switchover': await this.timed(dcs.setSwitchover(null, action.expectedRevision)); return
    }
  }

  /**
   * A renewal that came more than loopWait + retryTimeout after the one before has eaten into the
   * writable window (ttl - safetyMargin); once past it, the fence keeper fences on its own. The
   * agent otherwise logs only changes, so without this a stall would leave no trace of where it
   * was: a long pause means this process did not run (CPU, GC), a slow step means its server did not answer.
   */
  private reportLateRenewal (gapMs: number, renewMs: number): void {
    const { loopWaitMs, retryTimeoutMs } = this.options.config
    if (gapMs <= loopWaitMs + retryTimeoutMs) return
    const t = this.cycleTimings
    const window = writableForMs(this.options.config)
    this.emit(`lease renewal late: ${gapMs} ms after the previous one (loop wait ${loopWaitMs} ms, writable for ${window} ms after each); ` +
      `pause before the cycle ${t.pauseMs} ms, postgres status ${t.postgresMs} ms, member report ${t.memberMs} ms, snapshot ${t.snapshotMs} ms, renewal ${renewMs} ms`,
    ['renew'], gapMs > window ? 'past the writable deadline: the fence keeper fenced meanwhile' : 'ok')
  }

  private runAsync (what: string, work: () => Promise<void>, onOutcome?: (ok: boolean) => void): void {
    if (this.busy !== null) return
    this.busy = what
    void work().then(
      () => {
        this.busy = null
        onOutcome?.(true)
        this.emit(`${what} finished`, [], 'ok')
        this.wakeUp()
      },
      (err: unknown) => {
        // Retried at a later cycle: waking now would spin on work that fails at once.
        this.busy = null
        onOutcome?.(false)
        this.emit(`${what} failed`, [], describe(err))
      },
    )
  }

  /**
   * Work that brings this node back as a standby. When it keeps failing (a leader out of reach, a
   * pg_rewind that cannot succeed), each try costs the leader a CHECKPOINT and this node a restart:
   * the pause between tries doubles from loopWaitMs up to 10 × loopWaitMs, and resets on success.
   */
  private runRecovery (what: string, work: () => Promise<void>): void {
    const { clock, config } = this.options
    const waitMs = this.recoveryRetryAt - clock.now()
    if (this.busy === null && waitMs > 0) throw new Error(`${what} waits ${Math.ceil(waitMs)} ms more: it failed ${this.recoveryFailures} time${this.recoveryFailures === 1 ? '' : 's'} in a row`)
    this.runAsync(what, work, (ok) => {
      this.recoveryFailures = ok ? 0 : this.recoveryFailures + 1
      this.recoveryRetryAt = ok ? -Infinity : clock.now() + Math.min(10 * config.loopWaitMs, config.loopWaitMs * 2 ** (this.recoveryFailures - 1))
    })
  }

  /** A DCS or PostgreSQL request that takes longer than retryTimeoutMs counts as failed. */
  private async timed<T> (work: Promise<T>): Promise<T> {
    const { clock, config } = this.options
    let timedOut = false
    const timeout = clock.sleep(config.retryTimeoutMs).then(() => { timedOut = true })
    const result = await Promise.race([work, timeout])
    if (timedOut) throw new OutgrowError('OUTGROW_DCS_UNAVAILABLE', `no answer within retryTimeoutMs (${config.retryTimeoutMs} ms)`)
    return result as T
  }

  private pause (ms: number): Promise<void> {
    // Woken during the cycle: run again at once — unless no time has passed, which would spin.
    if (this.wakePending && this.options.clock.now() > this.cycleStartedAt) {
      this.wakePending = false
      return Promise.resolve()
    }
    this.wakePending = false
    return new Promise<void>((resolve) => {
      this.wake = resolve
      void this.options.clock.sleep(ms).then(resolve)
    })
  }

  private wakeUp (): void {
    const wake = this.wake
    this.wake = null
    if (wake === null) this.wakePending = true
    else wake()
  }

  private emit (message: string, actions: readonly string[], outcome: string): void {
    this.options.onEvent?.({ at: this.options.clock.now(), member: this.options.name, message, actions, outcome })
  }
}

function describe (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
