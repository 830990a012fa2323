import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Stack } from '../control/stack.js'
import { findBottleneck } from './bottleneck.js'
import { watchGateway } from './gateway-upstreams.js'
import { judgeStep, stepSeconds, type MeasuredStep, type StepSettings } from './capacity-step.js'
import { startCpuWindow, residentRole, type CpuWindow, type ServerCpu } from './cpu-window.js'
import { summarizeProfile, writeCpuProfile, type ProfileSummary } from './cpu-profile.js'
import { runOpenLoop } from './open-loop.js'
import { resetStatements, topStatements, type StatementStats } from './pg-statements.js'
import { progressPrinter } from './progress.js'
import { ratesBetween, readCounters, type ServerRates } from './server-stats.js'
import type { StepTarget } from './capacity-step.js'
import { unevenBalanceLine } from './upstream-balance.js'
import { cpuWaitShare, markCpuPressure } from './cpu-pressure.js'

/** What ran out at the knee of a capacity search, and what to scale next. */
export interface KneeDiagnosis {
  /** Offered rate of the knee step (req/s): just past the capacity. */
  readonly rate: number
  readonly step: MeasuredStep
  /** Every server's CPU over the measured window, busiest first. */
  readonly servers: ReadonlyArray<{ readonly server: string, readonly roles: readonly string[], readonly quotaCores: number, readonly utilization: number, readonly throttledShare: number | undefined }>
  readonly machine: CpuWindow['machine']
  /** One line: the saturated server and what to scale next. */
  readonly verdict: string
  readonly advice: string
  /** The busiest Node process's CPU profile (the file is a .cpuprofile DevTools opens). */
  readonly profile?: { readonly process: string, readonly file: string, readonly summary: ProfileSummary } | undefined
  /** The primary's top statements during the step (pg_stat_statements). */
  readonly statements?: readonly StatementStats[] | undefined
  readonly counters: ServerRates
}

const NODE_ROLES = new Set(['app', 'gateway', 'worker'])

/**
 * The knee profile samples every 10 ms, not V8's default 1 ms: the profiled process's CPU is in the
 * same step's table, and on a quarter-core gateway at 20 req/s sampling every 1 ms took its use
 * from 17 % to 37 % of its quota (every 10 ms: 20 %). A 10 s step still gives 1 000 samples.
 */
export const KNEE_SAMPLING_INTERVAL_US = 10_000

/** The Node process to profile: on the busiest server that runs one (app instance, gateway or worker). */
function profileTarget (window: CpuWindow): string | undefined {
  for (const server of window.servers) {
    const resident = server.residents.find((r) => NODE_ROLES.has(r.role))
    if (resident !== undefined) return resident.name
  }
  return undefined
}

/** Writes dominate a primary when most of its execution time goes to INSERT, UPDATE and DELETE. */
function primaryWorkload (statements: readonly StatementStats[] | undefined): 'reads' | 'writes' | undefined {
  if (statements === undefined || statements.length === 0) return undefined
  const writes = statements.filter((s) => /^\s*(insert|update|delete)\b/i.test(s.query)).reduce((sum, s) => sum + s.share, 0)
  return writes > 0.5 ? 'writes' : 'reads'
}

const serverRow = (s: ServerCpu): KneeDiagnosis['servers'][number] => ({
  server: s.server, roles: s.residents.map((r) => `${r.name} (${r.role}${r.usedCores === undefined || s.usedCores <= 0 ? '' : `, ${Math.round(r.usedCores / s.usedCores * 100)} % of its CPU`})`), quotaCores: s.quotaCores,
  utilization: Math.round(s.utilization * 1000) / 1000, throttledShare: s.throttledShare === undefined ? undefined : Math.round(s.throttledShare * 1000) / 1000,
})

/**
 * One more full step at `rate` on a running stack, read from every side: each server's CPU against
 * its quota over the measured window, a CPU profile of the busiest Node process (chosen from the
 * settling seconds), the primary's top statements and the app's counters.
 */
export async function diagnoseKnee (stack: Stack, target: StepTarget, rate: number, settings: StepSettings, profileDir: string): Promise<KneeDiagnosis> {
  const info = stack.info()
  const primary = info.processes.find((p) => p.role === 'postgres' && residentRole(p) === 'postgres primary' && p.url !== undefined)
  const statementsUrl = primary?.url
  if (statementsUrl !== undefined) await resetStatements(statementsUrl).catch(() => undefined)
  const countersBefore = await readCounters(info.processes)
  const settling = startCpuWindow(stack)
  // Sampled every second here: an instance out of rotation for part of the step shows in a sample.
  const gateway = watchGateway(target.gatewayMetricsUrl?.(), 1000)
  const loop = runOpenLoop({
    url: target.url, rate, connections: settings.connections, timeoutMs: settings.timeoutMs, next: target.next,
    durationMs: (settings.settleSeconds + stepSeconds(rate, 'full', settings)) * 1000, unmeasuredMs: settings.settleSeconds * 1000,
    onTick: progressPrinter(`${target.label} ${rate} req/s`),
  })
  await sleep(settings.settleSeconds * 1000)
  const chosen = profileTarget(await settling.finish())
  const window = startCpuWindow(stack)
  const pressureStart = markCpuPressure()
  const profileMs = Math.max(1000, (stepSeconds(rate, 'full', settings) - 1) * 1000)
  const profiling = chosen === undefined ? undefined : stack.cpuProfile(chosen, profileMs, { samplingIntervalUs: KNEE_SAMPLING_INTERVAL_US }).catch(() => undefined)
  const result = await loop
  const cpuWait = cpuWaitShare(pressureStart, markCpuPressure())
  const cpu = await window.finish()
  const countersAfter = await readCounters(stack.info().processes)
  const upstreams = await gateway.finish()
  const rawProfile = await profiling
  const statements = statementsUrl === undefined ? undefined : await topStatements(statementsUrl, 10).catch(() => undefined)
  const bottleneck = findBottleneck(cpu, { primaryWorkload: primaryWorkload(statements), unevenBalance: unevenBalanceLine(upstreams) })
  let profile: KneeDiagnosis['profile']
  if (chosen !== undefined && rawProfile !== undefined) {
    const file = join(profileDir, `${chosen}.cpuprofile`)
    await writeCpuProfile(file, rawProfile)
    profile = { process: chosen, file: `profiles/${profileDir.split('/').at(-1) ?? ''}/${chosen}.cpuprofile`, summary: summarizeProfile(rawProfile, 12) }
  }
  return {
    rate, step: { ...judgeStep(rate, 'full', result, settings), upstreams, cpuWaitShare: cpuWait }, servers: cpu.servers.map(serverRow), machine: cpu.machine,
    verdict: bottleneck.verdict, advice: bottleneck.advice, profile, statements,
    counters: ratesBetween(countersBefore, countersAfter, result.durationMs / 1000),
  }
}
