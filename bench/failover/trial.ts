/**
 * One trial: a healthy cluster under a steady write and read load, one fault on the primary's node,
 * then the client-observed outcome.
 *
 *   kill-primary    SIGKILL of the primary's PostgreSQL and its HA process (node loss); once writes
 *                   resume, the node's HA process is started again, as its service manager would
 *   freeze-primary  SIGSTOP of both (alive but silent: the split-brain case), held until another
 *                   member holds the leader key plus HOLD_MS (or FREEZE_BOUND_MS), then SIGCONT
 *
 * Either way the trial ends once the cluster is whole again (a writable leader, both others
 * streaming from it), so that the next trial starts from a full cluster, and the writes are then
 * checked on the final primary.
 */
import pg from 'pg'
import { startMonitor } from '../../src/lab/writable-probe.js'
import { startReader, startWriter, type DbNode } from './client.js'
import { pollUntil, sleep } from '../../src/lab/poll.js'
import type { HaSystem } from './system.js'

export type Scenario = 'kill-primary' | 'freeze-primary'
export const SCENARIOS: readonly Scenario[] = ['kill-primary', 'freeze-primary']

export interface TrialResult {
  readonly system: string
  readonly scenario: Scenario
  readonly trial: number
  readonly oldLeader: string
  readonly newLeader: string | null
  /** The leader once the trial ended: not newLeader if another election followed. */
  readonly finalLeader: string | null
  /** From the fault to the acknowledgement of the first write sent after it (client-observed); null: none within the bound. */
  readonly timeToWritesMs: number | null
  /** From the fault until another member held the leader key. */
  readonly newLeaderAfterMs: number | null
  readonly acknowledged: number
  /** Acknowledged writes missing on the final primary. */
  readonly lost: number
  readonly writeFailures: number
  /** Probe rounds (every 100 ms) in which two servers accepted writes. */
  readonly twoPrimaryInstants: number
  readonly probeRounds: number
  readonly reads: number
  readonly readFailures: number
  readonly slowestReadMs: number
  /** From the heal (restart or SIGCONT) until the cluster was whole again (healthyLeader). */
  readonly rejoinMs: number | null
  readonly error?: string
}

const WARMUP_MS = 2000
const WRITES_BOUND_MS = 90_000
const HOLD_MS = 3000
const FREEZE_BOUND_MS = 60_000
const REJOIN_BOUND_MS = 120_000
const AFTER_REJOIN_MS = 2000

async function query<T extends pg.QueryResultRow> (node: DbNode, sql: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: node.url, connectionTimeoutMillis: 1000, query_timeout: 5000 })
  client.on('error', () => {})
  try {
    await client.connect()
    return (await client.query<T>(sql, values)).rows
  } finally {
    await client.end().catch(() => {})
  }
}

/**
 * The leader key's holder is writable, and both other members stream from it, one of them as a
 * synchronous standby: a failover now may only pick a member with every acknowledged commit.
 */
export async function healthyLeader (system: HaSystem, timeoutMs: number): Promise<string | null> {
  let found: string | null = null
  await pollUntil(async () => {
    const leader = await system.leader()
    const node = system.nodes.find((n) => n.name === leader)
    if (leader === null || node === undefined) return false
    try {
      const [primary] = await query<{ ok: boolean }>(node, "SELECT NOT pg_is_in_recovery() AND current_setting('default_transaction_read_only') = 'off' AS ok")
      const standbys = await query<{ name: string, sync: string }>(node, "SELECT application_name AS name, sync_state AS sync FROM pg_stat_replication WHERE state = 'streaming'")
      const others = system.nodes.filter((n) => n.name !== leader).map((n) => n.name)
      const ok = primary?.ok === true && others.every((o) => standbys.some((s) => s.name === o)) && standbys.some((s) => s.sync === 'sync' || s.sync === 'quorum')
      if (ok) found = leader
      return ok
    } catch {
      return false
    }
  }, timeoutMs, 200)
  return found
}

export async function runTrial (system: HaSystem, scenario: Scenario, trial: number, firstId: number): Promise<{ result: TrialResult, nextId: number }> {
  const oldLeader = await healthyLeader(system, 180_000)
  if (oldLeader === null) throw new Error(`${system.name}: no healthy cluster before ${scenario} #${trial}\n${system.nodes.map((n) => system.logs(n.name)).join('\n')}`)
  const probe = startMonitor(system.nodes)
  const writer = startWriter(system.nodes, firstId)
  const reader = startReader(system.nodes)
  await sleep(WARMUP_MS)

  const faultAt = Date.now()
  system.signal(oldLeader, scenario === 'kill-primary' ? 'SIGKILL' : 'SIGSTOP')
  // Who holds the leader key, watched from the fault on (etcd's answer, polled every 50 ms).
  let newLeader: string | null = null
  let newLeaderAt: number | null = null
  let watching = true
  const watch = (async () => {
    while (watching && newLeaderAt === null) {
      const now = await system.leader()
      if (now !== null && now !== oldLeader) { newLeader = now; newLeaderAt = Date.now() }
      await sleep(50)
    }
  })()
  // A write sent before the fault may be acknowledged just after it (the reply was on its way):
  // what counts is the first write sent after the fault.
  const resumed = await pollUntil(async () => writer.acks.some((a) => a.sentAt > faultAt), WRITES_BOUND_MS, 20)
  const firstAck = writer.acks.find((a) => a.sentAt > faultAt)
  const timeToWritesMs = resumed && firstAck !== undefined ? firstAck.at - faultAt : null

  let healAt: number
  if (scenario === 'kill-primary') {
    healAt = Date.now()
    await system.restart(oldLeader)
  } else {
    await pollUntil(async () => newLeaderAt !== null, Math.max(0, faultAt + FREEZE_BOUND_MS - Date.now()), 50)
    await sleep(Math.min(HOLD_MS, Math.max(0, faultAt + FREEZE_BOUND_MS - Date.now())))
    healAt = Date.now()
    system.signal(oldLeader, 'SIGCONT')
  }
  // Whole again: a writable leader with both others streaming from it. Normally the old node now
  // follows the new leader; if the old node took the key back instead, the new one must follow it.
  const rejoined = await healthyLeader(system, REJOIN_BOUND_MS) !== null
  const rejoinMs = rejoined ? Date.now() - healAt : null
  await sleep(AFTER_REJOIN_MS)
  watching = false
  await watch
  await writer.stop()
  await reader.stop()
  await probe.stop()

  const finalLeader = await system.leader()
  const finalNode = system.nodes.find((n) => n.name === finalLeader)
  let lost = writer.acks.length
  let error: string | undefined
  try {
    if (finalNode === undefined) throw new Error('no leader at the end')
    const ids = writer.acks.map((a) => a.id)
    const [row] = await query<{ n: string }>(finalNode, 'SELECT count(*) AS n FROM acks WHERE id = ANY($1::int[])', [ids])
    lost = ids.length - Number(row?.n ?? 0)
  } catch (err) {
    error = `final check failed: ${err instanceof Error ? err.message : String(err)}`
  }
  if (timeToWritesMs === null) error = `writes did not resume within ${WRITES_BOUND_MS} ms`
  else if (rejoinMs === null) error = `the cluster was not whole again (a writable leader, both others streaming) within ${REJOIN_BOUND_MS} ms of the heal`
  const result: TrialResult = {
    system: system.name,
    scenario,
    trial,
    oldLeader,
    newLeader,
    finalLeader,
    timeToWritesMs,
    newLeaderAfterMs: newLeaderAt === null ? null : (newLeaderAt as number) - faultAt,
    acknowledged: writer.acks.length,
    lost,
    writeFailures: writer.failures,
    twoPrimaryInstants: probe.overlaps.length,
    probeRounds: probe.rounds,
    reads: reader.reads,
    readFailures: reader.failures.length,
    slowestReadMs: reader.slowestMs,
    rejoinMs,
    ...(error === undefined ? {} : { error }),
  }
  return { result, nextId: writer.nextId }
}
