import { randomBytes } from 'node:crypto'
import { AckLog } from './ack-log.js'
import { Checker } from './checker.js'
import { gatherFacts } from './facts.js'
import { ordersByKey } from './final-check.js'
import { PrimaryProbe, type ProbedNode } from './primary-probe.js'
import { killTree, signalAll, stopTree } from './process-tree.js'
import { postgresNodes, selectTarget, type ScenarioName, type StackNode, type Target } from './scenarios.js'
import { computeVerdict, type Verdict } from './verdict.js'

export interface ChaosOptions {
  readonly scenario: ScenarioName
  /** The running stack's public URL and processes, as `outgrow status` reports them. */
  readonly stack: () => Promise<{ url: string, processes: readonly StackNode[] }>
  readonly durationMs: number
  readonly rate: number
  readonly freezeMs: number
  readonly clients: number
  readonly password: string
  /** Append every acknowledged order here (JSON lines). */
  readonly ackLogFile?: string
  readonly log?: (line: string) => void
}

export interface ChaosReport {
  readonly verdict: Verdict
  readonly fault: { readonly target: string, readonly kind: Target['fault'], readonly pids: readonly number[], readonly atMs: number, readonly resumedAtMs?: number }
  /** The node the final check read the orders on. */
  readonly checkedOn: string
  readonly ackLog?: string
  /** Orders not started because every client was busy with one (retrying, during an outage). */
  readonly skipped: number
}

/** Seconds of normal load before the fault: a quarter of the run, from 1 to 5 s. */
export function baselineMs (durationMs: number): number {
  return Math.min(5000, Math.max(1000, Math.round(durationMs / 4)))
}

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))) }

/**
 * One chaos run: pick the target, log the clients in, run the checker workload and the primary
 * probes for a baseline, inject the fault, keep going to the end of the run, then check the ack
 * log against the database and compute the verdict.
 */
export async function runChaos (options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => {})
  const initial = await options.stack()
  // Fail before any load when the stack has nothing to hit.
  selectTarget(options.scenario, initial.processes, await gatherFacts(options.scenario, initial.processes))
  let pgNodes: ProbedNode[] = postgresNodes(initial.processes)
  const keyPrefix = `chaos-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}-`
  let t0 = performance.now()
  let wallT0 = Date.now()
  const now = (): number => performance.now() - t0
  const acks = new AckLog(options.ackLogFile, () => wallT0)
  const checker = new Checker({ url: initial.url, rate: options.rate, clients: options.clients, password: options.password, keyPrefix, acks, now })
  const probe = new PrimaryProbe({ nodes: () => pgNodes, now })
  // PostgreSQL nodes may come and go (HA, scaling): the probes follow `status`.
  const refresh = setInterval(() => {
    options.stack().then((s) => { pgNodes = postgresNodes(s.processes) }, () => {})
  }, 2000)
  let resume: (() => void) | undefined
  const onSignal = (): void => { resume?.(); process.exit(130) }
  try {
    log(`logging in ${options.clients} clients`)
    await checker.loginAll()
    t0 = performance.now()
    wallT0 = Date.now()
    probe.start()
    const load = checker.run(options.durationMs)
    await sleep(baselineMs(options.durationMs) - now())
    // Chosen again now: the primary may have moved during the baseline.
    const current = await options.stack()
    const facts = await gatherFacts(options.scenario, current.processes)
    const target = selectTarget(options.scenario, current.processes, facts)
    const atMs = now()
    let pids: number[]
    let resumedAtMs: number | undefined
    if (target.fault === 'kill') {
      pids = killTree(target.pid)
      log(`${(atMs / 1000).toFixed(1)} s: SIGKILL ${target.name} (${pids.length} process${pids.length === 1 ? '' : 'es'})`)
    } else {
      pids = stopTree(target.pid, new Set(target.spared ?? []))
      const stopped = pids
      resume = () => { signalAll(stopped, 'SIGCONT') }
      process.once('SIGINT', onSignal).once('SIGTERM', onSignal)
      log(`${(atMs / 1000).toFixed(1)} s: SIGSTOP ${target.name} (${pids.length} processes) for ${options.freezeMs / 1000} s`)
      await sleep(options.freezeMs)
      resume()
      resume = undefined
      resumedAtMs = now()
      log(`${(resumedAtMs / 1000).toFixed(1)} s: SIGCONT ${target.name}`)
    }
    await load
    const endedAt = now()
    clearInterval(refresh)
    await probe.stop()
    log(`${(endedAt / 1000).toFixed(1)} s: load stopped; checking the orders on the primary`)
    const checked = await ordersByKey(async () => postgresNodes((await options.stack()).processes), keyPrefix, 60_000)
    const verdict = computeVerdict({
      scenario: options.scenario,
      target: target.name,
      faultAt: atMs,
      endedAt,
      acks: acks.acks,
      requests: checker.requests,
      orders: checker.outcomes,
      probes: probe.rounds,
      database: checked.orders,
    })
    return {
      verdict,
      fault: { target: target.name, kind: target.fault, pids, atMs: Math.round(atMs), ...(resumedAtMs === undefined ? {} : { resumedAtMs: Math.round(resumedAtMs) }) },
      checkedOn: checked.primary,
      ...(options.ackLogFile === undefined ? {} : { ackLog: options.ackLogFile }),
      skipped: checker.skipped,
    }
  } finally {
    resume?.()
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal)
    clearInterval(refresh)
    await probe.stop()
    await checker.close()
    acks.close()
  }
}
