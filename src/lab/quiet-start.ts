import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import type { Stack } from '../control/stack.js'
import { residentRole, startCpuWindow, type ServerCpu } from './cpu-window.js'

export interface QuietOptions {
  /** Every server below this share of its quota counts as quiet (default 0.15). */
  readonly idleBelow?: number
  /** Length of each CPU reading (ms, default 2000). */
  readonly windowMs?: number
  /** Give up waiting after this long (ms, default 30 000): measure anyway, and say so. */
  readonly timeoutMs?: number
  /**
   * Each server's lowest use of its quota seen so far on this stack (restFloors), kept by the
   * caller across waits: a server back at its own floor is at rest even above `idleBelow`.
   */
  readonly floors?: Map<string, number>
}

/** A server within this much of its quota above its own lowest reading is at its floor. */
export const FLOOR_MARGIN = 0.05

/**
 * Whether every server is at rest: under `idleBelow` of its quota, or back at its own floor — the
 * lowest use an earlier reading on this stack found (within FLOOR_MARGIN). Some servers never go
 * under a fixed threshold at rest: at a quarter core, each etcd member spends 14–17 % of it on the
 * HA agents' lease renewals, whatever the last step did, and waiting for it ran every wait out to
 * its time-out. A backlog a step left (autovacuum, a queue) still shows above the floor. The
 * floors are updated with this reading afterwards, so a first reading is judged by `idleBelow` alone.
 */
export function atRest (servers: readonly ServerCpu[], floors: Map<string, number>, idleBelow: number): { quiet: boolean, busiest: string } {
  let busiest: ServerCpu | undefined
  for (const s of servers) {
    const floor = floors.get(s.server)
    const resting = s.utilization < idleBelow || (floor !== undefined && s.utilization <= floor + FLOOR_MARGIN)
    if (!resting && (busiest === undefined || s.utilization > busiest.utilization)) busiest = s
  }
  const top = busiest ?? servers[0]
  const floor = top === undefined ? undefined : floors.get(top.server)
  const described = top === undefined ? '' : `${top.server} at ${Math.round(top.utilization * 100)} % of its quota${busiest !== undefined && floor !== undefined ? `, its floor ${Math.round(floor * 100)} %` : ''}`
  for (const s of servers) floors.set(s.server, Math.min(floors.get(s.server) ?? Infinity, s.utilization))
  return { quiet: busiest === undefined, busiest: described }
}

/**
 * Brings a freshly started stack to a steady state before it is measured: the seed's tables are
 * vacuumed and analyzed and a checkpoint written now, rather than by autovacuum and the
 * checkpointer in the middle of a step (on a server of a quarter core, either stalls requests for
 * seconds); then waits until every server is at rest (atRest).
 * Returns how long it waited and whether the stack became quiet.
 */
export async function quietStart (stack: Stack, options: QuietOptions = {}): Promise<{ waitedMs: number, quiet: boolean, busiest: string }> {
  const started = Date.now()
  const primary = stack.info().processes.find((p) => p.role === 'postgres' && residentRole(p) === 'postgres primary' && p.url !== undefined)
  if (primary?.url !== undefined) {
    // Bounded: after an overloaded step the primary may be slow, and a lost one must not hang the run.
    const client = new pg.Client({ connectionString: primary.url, connectionTimeoutMillis: 5000, statement_timeout: 30_000 })
    client.on('error', () => {})
    await client.connect()
    try {
      await client.query('VACUUM (ANALYZE)')
      await client.query('CHECKPOINT')
    } finally {
      await client.end()
    }
  }
  const idleBelow = options.idleBelow ?? 0.15
  const floors = options.floors ?? new Map<string, number>()
  const deadline = started + (options.timeoutMs ?? 30_000)
  for (;;) {
    const window = startCpuWindow(stack)
    await sleep(options.windowMs ?? 2000)
    const { servers } = await window.finish()
    const { quiet, busiest } = atRest(servers, floors, idleBelow)
    if (quiet) return { waitedMs: Date.now() - started, quiet: true, busiest }
    if (Date.now() >= deadline) return { waitedMs: Date.now() - started, quiet: false, busiest }
  }
}
