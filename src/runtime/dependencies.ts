import { adapterLog } from './log.js'
import { dependencyUp } from './metrics.js'

export type DependencyState = 'up' | 'down'

export interface DependencyHealthOptions {
  /** A state observed this recently is reported without asking the engine again. */
  readonly maxAgeMs?: number
  /** How long a reader waits for a probe before it takes the last known state. */
  readonly probeWaitMs?: number
}

/**
 * What this process last knew about one engine it depends on (the primary, a Redis). Adapters
 * report every success and connection failure of real traffic; when nothing has been observed
 * for maxAgeMs, a reader triggers one probe (shared by concurrent readers). So a busy instance
 * never probes, and /readyz polled by several gateways costs at most one probe per maxAgeMs.
 */
export class DependencyHealth {
  readonly name: string
  readonly #probe: () => Promise<void>
  readonly #maxAgeMs: number
  readonly #probeWaitMs: number
  #state: DependencyState = 'up'
  #observedAt = 0
  #probing: Promise<void> | undefined

  constructor (name: string, probe: () => Promise<void>, options: DependencyHealthOptions = {}) {
    this.name = name
    this.#probe = probe
    this.#maxAgeMs = options.maxAgeMs ?? 400
    this.#probeWaitMs = options.probeWaitMs ?? 300
    dependencyUp.set({ dependency: name }, 1)
  }

  markUp (): void { this.#observe('up') }

  markDown (err?: unknown): void { this.#observe('down', err) }

  /**
   * The state, probed first if the last observation is stale. A probe slower than probeWaitMs
   * (an engine that does not even refuse connections) is not waited for: the caller gets the
   * last known state and the probe's result lands later.
   */
  async current (): Promise<DependencyState> {
    if (Date.now() - this.#observedAt <= this.#maxAgeMs) return this.#state
    this.#probing ??= this.#probe().then(() => { this.markUp() }, (err: unknown) => { this.markDown(err) })
      .finally(() => { this.#probing = undefined })
    let timer: NodeJS.Timeout | undefined
    await Promise.race([this.#probing, new Promise((resolve) => { timer = setTimeout(resolve, this.#probeWaitMs) })])
    clearTimeout(timer)
    return this.#state
  }

  #observe (state: DependencyState, err?: unknown): void {
    this.#observedAt = Date.now()
    if (state === this.#state) return
    this.#state = state
    dependencyUp.set({ dependency: this.name }, state === 'up' ? 1 : 0)
    // One line per change, not per failed request.
    if (state === 'down') adapterLog.warn({ dependency: this.name, err }, `${this.name} is down`)
    else adapterLog.warn({ dependency: this.name }, `${this.name} is up again`)
  }
}

export type DependencyStates = Record<string, DependencyState | DependencyState[]>

/** An adapter that depends on engines outside this process and can say how they are. */
export interface ReportsDependencies {
  dependencyStates(): Promise<DependencyStates>
}

export function reportsDependencies (part: unknown): part is ReportsDependencies {
  return typeof (part as Partial<ReportsDependencies> | null)?.dependencyStates === 'function'
}

/** The states of every engine behind the given adapters; in-process adapters report nothing. */
export async function collectDependencyStates (parts: readonly unknown[]): Promise<DependencyStates> {
  const reports = await Promise.all(parts.filter(reportsDependencies).map(async (part) => await part.dependencyStates()))
  return Object.assign({}, ...reports) as DependencyStates
}

/** An adapter that can keep serving without its engine (fails open) and says when it does. */
export interface ReportsDegradation {
  degradedParts(): string[]
}

/** The parts that serve in a degraded way now, e.g. ['cache'] while the cache's breaker is open. */
export function collectDegradedParts (parts: readonly unknown[]): string[] {
  return parts.flatMap((part) => typeof (part as Partial<ReportsDegradation> | null)?.degradedParts === 'function' ? (part as ReportsDegradation).degradedParts() : [])
}
