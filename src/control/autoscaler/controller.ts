import type { EventLog } from '../event-log.js'
import type { ObservedUnit } from '../observed.js'
import type { InstancesSpec, TopologySpec } from '../spec.js'
import { Autoscaler, type Decision, type MetricValues } from './hpa.js'
import { processCpuUsage, scrapeInstanceMetrics, cpuUtilization, type CpuUsageReading, type InstanceSnapshot } from './metrics-source.js'
import type { AutoscalePolicy } from './policy.js'
import { predictReplicas, type LoadSample } from './predictive.js'
import { policyFor } from './spec-policy.js'

/** What the controller needs of the running stack. */
export interface AutoscaleHost {
  spec(): TopologySpec
  observe(): ObservedUnit[]
  /** Sets a group's instance count through the reconciler (recorded in the event log). */
  scale(targets: Record<string, number>, actor: string, detail: string): void
  /** Jobs waiting in a queue, for workers scaled on queue depth. */
  queueDepth(queue: string): Promise<number>
}

export interface AutoscaleControllerOptions {
  readonly host: AutoscaleHost
  readonly events: EventLog
  /** How often every autoscaled group is evaluated (Kubernetes' HPA: 15 s). */
  readonly syncMs?: number
  readonly now?: () => number
  readonly log?: (line: string) => void
}

/** One evaluation, kept for status and the dashboard. */
export interface AutoscaleRecord {
  readonly at: number
  readonly group: string
  readonly current: number
  readonly ready: number
  readonly metrics: MetricValues
  readonly decision: Decision
}

interface GroupState {
  policyKey: string
  autoscaler: Autoscaler
  policy: AutoscalePolicy
  snapshots: Map<string, InstanceSnapshot>
  cpu: Map<string, CpuUsageReading>
  load: LoadSample[]
  lastRequests: { at: number, total: number } | undefined
}

const mean = (values: number[]): number | undefined => values.length === 0 ? undefined : values.reduce((a, b) => a + b, 0) / values.length

/**
 * Runs the HPA algorithm for every service and worker group whose spec has `autoscale`: reads
 * their metrics (CPU of each instance's process against its server's quota, event-loop
 * utilization, in-flight requests, p99, queue depth), decides, and changes the desired count in
 * the spec — never a process directly.
 */
export class AutoscaleController {
  readonly #host: AutoscaleHost
  readonly #events: EventLog
  readonly #now: () => number
  readonly #log: (line: string) => void
  readonly #syncMs: number
  readonly #groups = new Map<string, GroupState>()
  readonly #history: AutoscaleRecord[] = []
  /** Seconds a new instance takes to become ready, as last measured: the forecast's lead. */
  #startupSeconds = 5
  #timer: NodeJS.Timeout | undefined
  #running = false

  constructor (options: AutoscaleControllerOptions) {
    this.#host = options.host
    this.#events = options.events
    this.#now = options.now ?? Date.now
    this.#log = options.log ?? (() => {})
    this.#syncMs = options.syncMs ?? 2000
    this.#events.subscribe((e) => {
      const ms = e.action === 'start' && e.result === 'ok' ? /in (\d+) ms/.exec(e.detail ?? '')?.[1] : undefined
      if (ms !== undefined) this.#startupSeconds = Math.max(1, Number(ms) / 1000)
    })
  }

  start (): void {
    this.#timer = setInterval(() => {
      if (this.#running) return
      this.#running = true
      this.syncOnce().catch((err: unknown) => { this.#log(`autoscaler: ${(err as Error).message}`) }).finally(() => { this.#running = false })
    }, this.#syncMs)
    this.#timer.unref()
  }

  stop (): void {
    clearInterval(this.#timer)
  }

  history (): readonly AutoscaleRecord[] { return this.#history }

  async syncOnce (): Promise<void> {
    const spec = this.#host.spec()
    const groups: Array<{ key: string, name: string, instances: InstancesSpec, autoscale: Record<string, unknown>, queue?: string }> = [
      ...Object.entries(spec.services).flatMap(([name, s]) => s.autoscale === undefined ? [] : [{ key: `services/${name}`, name, instances: s.instances, autoscale: s.autoscale }]),
      ...Object.entries(spec.workers).flatMap(([name, w]) => w.autoscale === undefined ? [] : [{ key: `workers/${name}`, name, instances: w.instances, autoscale: w.autoscale, queue: w.queue }]),
    ]
    for (const key of this.#groups.keys()) if (!groups.some((g) => g.key === key)) this.#groups.delete(key)
    const observed = this.#host.observe()
    for (const g of groups) {
      const state = this.#state(g.key, policyFor(g.key.replace('/', '.'), g.instances, g.autoscale))
      const units = observed.filter((o) => o.group === g.key && o.state === 'ready')
      const metrics = await this.#read(state, units, g.queue)
      const now = this.#now()
      const predicted = state.policy.mode === 'predictive' ? this.#predict(state, units.length, metrics) : undefined
      const decision = state.autoscaler.decide(now, g.instances.count, metrics, { readyReplicas: units.length, ...(predicted === undefined ? {} : { predictedReplicas: predicted }) })
      this.#history.push({ at: now, group: g.key, current: g.instances.count, ready: units.length, metrics, decision })
      if (this.#history.length > 2000) this.#history.splice(0, this.#history.length - 2000)
      if (decision.desired !== g.instances.count) {
        const value = decision.metric === undefined ? '' : ` ${decision.metric}=${round(metrics[decision.metric as keyof MetricValues])}`
        const detail = `${g.instances.count} → ${decision.desired} (${decision.reason}${value}${decision.ratio === undefined ? '' : `, ratio ${round(decision.ratio)}`})`
        this.#log(`autoscaler: ${g.name} ${detail}`)
        this.#host.scale({ [g.name]: decision.desired }, 'autoscaler', detail)
      }
    }
  }

  #state (key: string, policy: AutoscalePolicy): GroupState {
    const policyKey = JSON.stringify(policy)
    const existing = this.#groups.get(key)
    if (existing !== undefined && existing.policyKey === policyKey) return existing
    const state: GroupState = { policyKey, policy, autoscaler: new Autoscaler(policy, existing?.autoscaler.state), snapshots: existing?.snapshots ?? new Map<string, InstanceSnapshot>(), cpu: existing?.cpu ?? new Map<string, CpuUsageReading>(), load: existing?.load ?? [], lastRequests: existing?.lastRequests }
    this.#groups.set(key, state)
    return state
  }

  async #read (state: GroupState, units: ObservedUnit[], queue: string | undefined): Promise<MetricValues> {
    const kinds = new Set(state.policy.metrics.map((m) => m.kind))
    const now = this.#now()
    const elu: number[] = []
    const inflight: number[] = []
    const p99: number[] = []
    const cpu: number[] = []
    let requests = 0
    await Promise.all(units.map(async (u) => {
      if (u.address?.startsWith('http') === true && (kinds.has('elu') || kinds.has('inflight') || kinds.has('p99') || state.policy.mode === 'predictive')) {
        try {
          const m = await scrapeInstanceMetrics(u.address, state.snapshots.get(u.name), AbortSignal.timeout(1000))
          state.snapshots.set(u.name, m)
          elu.push(m.elu)
          inflight.push(m.inFlight)
          if (m.p99Seconds !== undefined) p99.push(m.p99Seconds)
          requests += m.requestsTotal
        } catch { /* an instance that does not answer counts as not ready */ }
      }
      if (kinds.has('cpu') && u.pid !== undefined) {
        try {
          const reading = await processCpuUsage(u.pid, now)
          const previous = state.cpu.get(u.name)
          state.cpu.set(u.name, reading)
          const cores = this.#host.spec().servers[u.server]?.cpus ?? this.#host.spec().emulation.cpusPerServer
          const used = previous === undefined ? undefined : cpuUtilization(previous, reading, cores)
          if (used !== undefined) cpu.push(used)
        } catch {}
      }
    }))
    for (const name of state.snapshots.keys()) if (!units.some((u) => u.name === name)) state.snapshots.delete(name)
    if (state.lastRequests !== undefined && now > state.lastRequests.at && requests >= state.lastRequests.total) {
      state.load.push({ at: now, load: (requests - state.lastRequests.total) / ((now - state.lastRequests.at) / 1000) })
      if (state.load.length > 50_000) state.load.splice(0, state.load.length - 50_000)
    }
    state.lastRequests = { at: now, total: requests }
    const values: Partial<Record<keyof MetricValues, number>> = {}
    const set = (k: keyof MetricValues, v: number | undefined): void => { if (v !== undefined) values[k] = v }
    set('elu', mean(elu))
    set('inflight', mean(inflight))
    set('p99', mean(p99))
    set('cpu', mean(cpu))
    if (kinds.has('queue-depth') && queue !== undefined) {
      try { values['queue-depth'] = await this.#host.queueDepth(queue) } catch {}
    }
    return values
  }

  /** Forecast replicas from the recorded load, one start-up time ahead. */
  #predict (state: GroupState, ready: number, metrics: MetricValues): number | undefined {
    const latest = state.load.at(-1)
    const primary = state.policy.metrics.find((m) => m.kind !== 'queue-depth' && metrics[m.kind] !== undefined)
    if (latest === undefined || primary === undefined || ready === 0) return undefined
    const value = metrics[primary.kind] as number
    if (value < 0.05 * primary.target) return undefined
    // Load one replica carries at its target, from what each carries now at the metric's value.
    const capacityPerReplica = (latest.load / ready) * primary.target / value
    if (!(capacityPerReplica > 0)) return undefined
    return predictReplicas({ samples: state.load, capacityPerReplica, now: this.#now(), leadSeconds: this.#startupSeconds })?.replicas
  }
}

function round (v: number | undefined): string {
  return v === undefined ? '-' : String(Math.round(v * 1000) / 1000)
}
