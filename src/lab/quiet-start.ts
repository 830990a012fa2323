import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import type { Stack } from '../control/stack.js'
import { residentRole, startCpuWindow } from './cpu-window.js'

export interface QuietOptions {
  /** Every server below this share of its quota counts as quiet (default 0.15). */
  readonly idleBelow?: number
  /** Length of each CPU reading (ms, default 2000). */
  readonly windowMs?: number
  /** Give up waiting after this long (ms, default 30 000): measure anyway, and say so. */
  readonly timeoutMs?: number
}

/**
 * Brings a freshly started stack to a steady state before it is measured: the seed's tables are
 * vacuumed and analyzed and a checkpoint written now, rather than by autovacuum and the
 * checkpointer in the middle of a step (on a server of a quarter core, either stalls requests for
 * seconds); then waits until no server uses more than `idleBelow` of its CPU quota.
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
  const deadline = started + (options.timeoutMs ?? 30_000)
  let busiest = ''
  for (;;) {
    const window = startCpuWindow(stack)
    await sleep(options.windowMs ?? 2000)
    const { servers } = await window.finish()
    const top = servers[0]
    busiest = top === undefined ? '' : `${top.server} at ${Math.round(top.utilization * 100)} % of its quota`
    if (top === undefined || top.utilization < idleBelow) return { waitedMs: Date.now() - started, quiet: true, busiest }
    if (Date.now() >= deadline) return { waitedMs: Date.now() - started, quiet: false, busiest }
  }
}
