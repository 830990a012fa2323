import { setTimeout as sleep } from 'node:timers/promises'
import { readMachineCpuTicks } from '../supervisor/proc-stat.js'
import { cpuWaitShare, markCpuPressure, type CpuPressureMark } from './cpu-pressure.js'
import { watchGateway, type UpstreamStep } from './gateway-upstreams.js'
import { actionLatencies, sloBreakers, type ActionLatency } from './action-latency.js'
import { startCpuWindow, type CpuWindow, type CpuWindowSource } from './cpu-window.js'
import type { StepCpu } from './service-demand.js'
import type { Probe, StepKind, StepOutcome } from './capacity-search.js'
import { runOpenLoop, type OpenLoopResult } from './open-loop.js'
import { progressPrinter } from './progress.js'
import type { PlannedRequest } from './user-mix.js'

/** What a step must hold to pass: p99 from intended send time and the share of failures. */
export interface CapacitySlo {
  readonly p99Ms: number
  /** Failures (5xx, network errors, time-outs) over requests sent; a step passes below it. */
  readonly errorRatio: number
}

export interface StepSettings {
  /** Seconds at the step's rate before it is measured (pools, JIT and queues settle). */
  readonly settleSeconds: number
  /** Measured seconds of a ramp step (finding the region). */
  readonly rampSeconds: number
  /** Measured seconds of a bisection or confirmation step: the sustained window. */
  readonly fullSeconds: number
  /**
   * A full step is measured for at least this many requests (longer than `fullSeconds` at low
   * rates), so its p99 rests on enough samples above it: over 300 requests the p99 is the 4th
   * slowest, and one stall that catches a handful of requests decides it.
   */
  readonly minRequests: number
  /** ... but never longer than this many seconds. */
  readonly maxFullSeconds: number
  /** Idle time after each step, so one step's backlog does not land in the next. */
  readonly pauseMs: number
  readonly connections: number
  readonly timeoutMs: number
  readonly slo: CapacitySlo
  /** A step whose requests went out later than this (p99) measured the generator, not the server. */
  readonly maxSendLagMs: number
}

export const DEFAULT_STEPS: StepSettings = {
  settleSeconds: 3, rampSeconds: 5, fullSeconds: 10, minRequests: 1000, maxFullSeconds: 60, pauseMs: 1500, connections: 256, timeoutMs: 10_000,
  slo: { p99Ms: 100, errorRatio: 0.001 }, maxSendLagMs: 20,
}

/** A measured step with what it was judged on. */
export interface MeasuredStep extends StepOutcome {
  readonly sendLagP99Ms: number
  readonly errorsByKind: Readonly<Record<string, number>>
  /** p50 and p99 of each action of the user mix, slowest first: which action broke the objective. */
  readonly actions?: readonly ActionLatency[] | undefined
  /** Seconds measured (settling not counted). */
  readonly seconds?: number | undefined
  /**
   * Share of the machine's CPU time the hypervisor gave to others over the step (steal, from
   * /proc/stat): on a shared host, the machine was that much slower than it looked.
   */
  readonly stealShare?: number | undefined
  /**
   * Share of the measured window in which some process of the machine was runnable but waiting
   * for a core (PSI, cpu-pressure.ts): the queueing for the machine's cores that no server's quota shows.
   */
  readonly cpuWaitShare?: number | undefined
  /** Behind a gateway: each instance's responses, failures, ejections and state over the step (settling included). */
  readonly upstreams?: readonly UpstreamStep[] | undefined
  /** Each server's CPU over the measured window, for the CPU bound (service-demand.ts). */
  readonly cpu?: StepCpu | undefined
}

/** Measured seconds of a step of this kind at this rate. */
export function stepSeconds (rate: number, kind: StepKind, settings: Pick<StepSettings, 'rampSeconds' | 'fullSeconds' | 'minRequests' | 'maxFullSeconds'>): number {
  if (kind === 'ramp') return settings.rampSeconds
  const forRequests = rate > 0 ? Math.ceil(settings.minRequests / rate) : 0
  return Math.max(settings.fullSeconds, Math.min(forRequests, settings.maxFullSeconds))
}

function readSteal (): { steal: number, total: number } | undefined {
  try {
    return readMachineCpuTicks()
  } catch {
    return undefined
  }
}

const FAILURE = /^(5xx|net:|timeout)/

/** Judges one measured step against the objective; the first reason found is the one reported. */
export function judgeStep (rate: number, kind: StepKind, result: OpenLoopResult, settings: Pick<StepSettings, 'slo' | 'maxSendLagMs'>): MeasuredStep {
  const failures = Object.entries(result.errorsByKind).filter(([k]) => FAILURE.test(k)).reduce((sum, [, n]) => sum + n, 0)
  const errorRatio = result.sent === 0 ? 0 : failures / result.sent
  const reasons: string[] = []
  const actions = actionLatencies(result.byAction, settings.slo.p99Ms)
  const breakers = sloBreakers(actions)
  if (result.sendLag.p99Ms > settings.maxSendLagMs) reasons.push(`generator late (send lag p99 ${result.sendLag.p99Ms} ms)`)
  if (result.latency.p99Ms > settings.slo.p99Ms) reasons.push(`p99 ${result.latency.p99Ms} ms > ${settings.slo.p99Ms} ms${breakers === '' ? '' : ` (${breakers})`}`)
  if (errorRatio >= settings.slo.errorRatio && failures > 0) reasons.push(`errors ${(errorRatio * 100).toFixed(2)} %`)
  if (result.completed < result.sent) reasons.push(`${result.sent - result.completed} unanswered`)
  return {
    rate, kind, pass: reasons.length === 0, reason: reasons.join('; '),
    p99Ms: result.latency.p99Ms, achievedRate: result.achievedRate, errorRatio: Math.round(errorRatio * 1e5) / 1e5,
    sendLagP99Ms: result.sendLag.p99Ms, errorsByKind: result.errorsByKind, actions,
  }
}

export interface StepTarget {
  readonly url: string
  readonly next: () => PlannedRequest
  readonly label: string
  /** The gateway's metrics address, read when each step starts (none below level 4). */
  readonly gatewayMetricsUrl?: (() => string | undefined) | undefined
  /**
   * Run after each step's pause: brings the stack back to rest, so a step does not pay for the
   * one before it (the autovacuum of an overloaded step's writes, a checkpoint, a backlog).
   */
  readonly recover?: (() => Promise<void>) | undefined
  /** The stack, read for each server's CPU over the measured window. */
  readonly cpu?: CpuWindowSource | undefined
}

function compactCpu (window: CpuWindow): StepCpu {
  const round = (n: number): number => Math.round(n * 10_000) / 10_000
  return {
    servers: window.servers.map((s) => ({ server: s.server, usedCores: round(s.usedCores), quotaCores: s.quotaCores })),
    machineBusyCores: round(window.machine.busyCores),
    machineCores: window.machine.cores,
  }
}

/**
 * A probe that offers a constant rate to a running server: settle, then the measured window (open
 * model, latency from each request's intended send time), then a pause.
 */
export function stepProbe (target: StepTarget, settings: StepSettings, onStep?: (step: MeasuredStep) => void): Probe {
  return async (rate, kind, longer = false) => {
    // The steal counter is read when the measured window opens (after settling) and when it ends.
    let before: ReturnType<typeof readSteal>
    let pressureBefore: CpuPressureMark | undefined
    let cpuWindow: ReturnType<typeof startCpuWindow> | undefined
    const mark = setTimeout(() => {
      before = readSteal()
      pressureBefore = markCpuPressure()
      try {
        if (target.cpu !== undefined) cpuWindow = startCpuWindow(target.cpu)
      } catch {
        // No CPU accounting to read here: the step goes without its CPU, not the search.
      }
    }, settings.settleSeconds * 1000)
    const seconds = stepSeconds(rate, kind, settings) * (longer ? 2 : 1)
    // Start and end only: a scrape costs a quarter-core gateway a visible pause, and the search
    // measures tail latency. Ejections are counters, so the differences still show them; the knee
    // step samples every second for the states in between.
    const gateway = watchGateway(target.gatewayMetricsUrl?.())
    // One uninterrupted arrival stream: the settling seconds are offered but not counted.
    const result = await runOpenLoop({
      url: target.url, rate, connections: settings.connections, timeoutMs: settings.timeoutMs, next: target.next,
      durationMs: (settings.settleSeconds + seconds) * 1000, unmeasuredMs: settings.settleSeconds * 1000,
      onTick: progressPrinter(`${target.label} ${rate} req/s (${kind})`),
    })
    clearTimeout(mark)
    const after = readSteal()
    const cpuWait = cpuWaitShare(pressureBefore, markCpuPressure())
    const stealShare = before !== undefined && after !== undefined && after.total > before.total
      ? Math.round((after.steal - before.steal) / (after.total - before.total) * 1000) / 1000
      : undefined
    const cpu = cpuWindow === undefined ? undefined : await cpuWindow.finish().then(compactCpu, () => undefined)
    const upstreams = await gateway.finish()
    const step = { ...judgeStep(rate, kind, result, settings), seconds, stealShare, cpuWaitShare: cpuWait, upstreams, cpu }
    onStep?.(step)
    await sleep(settings.pauseMs)
    await target.recover?.()
    return step
  }
}
