import { loadavg } from 'node:os'
import { deepMerge } from '../control/presets.js'
import { Stack } from '../control/stack.js'
import { loadStackConfig, readConfigFile } from '../config/load.js'
import { freePort } from '../supervisor/free-port.js'
import type { Contender } from './contenders.js'
import type { LoadShape } from './load-shapes.js'
import { runOpenLoop, type LatencySummary } from './open-loop.js'
import type { InstanceCount, SecondSample } from './per-second.js'
import { progressPrinter } from './progress.js'
import type { MetricReading } from './scenario-metrics.js'
import { UserMix } from './user-mix.js'
import { loginUsers } from './virtual-users.js'
import { seededRandom } from './zipf.js'

/** How a scenario's load is offered, the same for every contender. */
export interface ScenarioLoad {
  readonly users: number
  readonly connections: number
  readonly timeoutMs: number
  readonly password: string
  /** Seconds at the shape's starting rate before the trace, on the fresh stack (not measured). */
  readonly warmupSeconds: number
}

/** What one contender did on one trace: raw per-second samples and the autoscaler's readings. */
export interface ContenderRun {
  readonly contender: Contender['name']
  readonly emulation: string
  /** Date.now() when the trace started; readings are in the same clock. */
  readonly startedAt: number
  readonly seconds: readonly SecondSample[]
  readonly readings: readonly MetricReading[]
  /** The autoscaler's scale events: "1 → 2 (DesiredWithinRange elu=0.93, ratio 1.86)". */
  readonly scaleEvents: ReadonlyArray<{ readonly second: number, readonly detail: string }>
  readonly offeredRate: number
  readonly achievedRate: number
  readonly latency: LatencySummary
  readonly errorsByKind: Readonly<Record<string, number>>
  readonly sendLagP99Ms: number
  /** The machine's 1-minute load average when the trace started and when it ended. */
  readonly loadAverage: readonly [number, number]
  /** App instances running when the trace started: the minimum unless the warm-up scaled it and it had not come back. */
  readonly instancesAtStart: number
}

export interface RunContenderOptions {
  readonly configFile: string
  /** Config overrides (emulation, seed); the contender's app topology goes on top. */
  readonly overrides: Record<string, unknown>
  /** CPU cores of each app instance's server, when they differ from the other servers'. */
  readonly appCpus?: number | undefined
  readonly contender: Contender
  readonly metricKind: string
  readonly shape: LoadShape
  readonly load: ScenarioLoad
  readonly label: string
  readonly log: (line: string) => void
}

/** Brings a fresh level-4 stack up with the contender's app scaling, plays the trace, and brings it down. */
export async function runContender (options: RunContenderOptions): Promise<ContenderRun> {
  const { contender, shape, load } = options
  const { raw } = await readConfigFile(options.configFile, 'config')
  const servers = options.appCpus === undefined ? {} : Object.fromEntries(Array.from({ length: contender.app.instances.max }, (_, i) => [`app-${i + 1}`, { cpus: options.appCpus }]))
  // Autoscaling starts with the trace: logging users in (password hashing) and the warm-up would
  // otherwise scale each contender differently before it, and the fleets would not start alike.
  const { autoscale, ...fixedApp } = contender.app
  const topology = deepMerge(raw.topology ?? {}, { services: { app: fixedApp }, servers })
  const loaded = await loadStackConfig(options.configFile, { ...options.overrides, level: 4, port: await freePort(), topology })
  const stack = new Stack({ loaded, control: false, autoscaleSyncMs: contender.syncMs, log: (line) => { options.log(`  ${options.label}: ${line}`) } })
  const info = await stack.up()
  try {
    const users = await loginUsers(info.url, load.users, load.password)
    const mix = new UserMix(users, loaded.config.seed.products, seededRandom(42))
    const common = { url: info.url, connections: load.connections, timeoutMs: load.timeoutMs, next: () => mix.next() }
    if (load.warmupSeconds > 0) {
      await runOpenLoop({ ...common, rate: shape.rateAt(0), durationMs: load.warmupSeconds * 1000, onTick: progressPrinter(`${options.label} warm-up`) })
    }
    const appInstances = (): InstanceCount => {
      const apps = stack.info().processes.filter((p) => p.role === 'app')
      return { ready: apps.filter((p) => p.state === 'ready').length, running: apps.filter((p) => p.state === 'ready' || p.state === 'starting').length }
    }
    const withAutoscale = structuredClone(stack.spec)
    const app = withAutoscale.services.app
    if (app !== undefined) app.autoscale = autoscale
    stack.apply(withAutoscale, 'lab')
    await stack.waitConverged(60_000)
    const instancesAtStart = appInstances().running
    const historyBefore = stack.autoscaleHistory().length
    const eventsBefore = stack.events.since(0).at(-1)?.seq ?? 0
    const loadAtStart = loadavg()[0] ?? 0
    const startedAt = Date.now()
    const result = await runOpenLoop({
      ...common, rate: (ms) => shape.rateAt(ms / 1000), durationMs: shape.durationSeconds * 1000,
      perSecond: { instances: appInstances }, onTick: progressPrinter(options.label),
    })
    const readings = stack.autoscaleHistory().slice(Math.max(0, historyBefore - 1))
      .filter((r) => r.group === 'services/app')
      .map((r): MetricReading => ({ at: r.at, ready: r.ready, metric: r.metrics[options.metricKind as keyof typeof r.metrics] }))
    const scaleEvents = stack.events.since(eventsBefore)
      .filter((e) => e.actor === 'autoscaler' && e.action === 'scale' && e.result === 'ok')
      .map((e) => ({ second: Math.round((Date.parse(e.time) - startedAt) / 100) / 10, detail: e.detail ?? '' }))
    return {
      contender: contender.name, emulation: info.emulation, startedAt, seconds: result.seconds ?? [], readings, scaleEvents,
      offeredRate: result.offeredRate, achievedRate: result.achievedRate, latency: result.latency, errorsByKind: result.errorsByKind,
      sendLagP99Ms: result.sendLag.p99Ms, loadAverage: [Math.round(loadAtStart * 100) / 100, Math.round((loadavg()[0] ?? 0) * 100) / 100], instancesAtStart,
    }
  } finally {
    await stack.down()
  }
}
