import { OutgrowError } from '../errors/index.js'
import { actionTarget, describeAction, type Action } from './actions.js'
import { Backoff } from './backoff.js'
import type { EventLog } from './event-log.js'
import type { ObservedUnit } from './observed.js'
import { converged, plan } from './plan.js'
import type { TopologySpec } from './spec.js'
import { expand } from './units.js'
import { validateSpec } from './validate-spec.js'

/** What the reconciler needs of an executor: observe, act, and say when something exited. */
export interface Executor {
  observe(): ObservedUnit[]
  execute(action: Action): Promise<void>
  on(event: 'exit', listener: (name: string, detail: string) => void): unknown
}

export interface ReconcilerOptions {
  readonly executor: Executor
  readonly events: EventLog
  readonly spec: TopologySpec
  readonly log?: (line: string) => void
  /** Level-triggered re-sync even when nothing was reported (ms). */
  readonly resyncMs?: number
  readonly now?: () => number
  /** Told what runs after every pass (after each action, exit, change of spec, and every resync). */
  readonly onSync?: (observed: ObservedUnit[]) => void
}

/**
 * The control loop: compares the desired spec with what the executor observes, plans, and hands
 * the actions out — at most one in flight per unit, failed and crashed units retried with
 * back-off. Every change of desired state and every action's outcome goes to the event log.
 */
export class Reconciler {
  readonly #executor: Executor
  readonly #events: EventLog
  readonly #log: (line: string) => void
  readonly #now: () => number
  readonly #onSync: ((observed: ObservedUnit[]) => void) | undefined
  readonly #backoff = new Backoff()
  readonly #inFlight = new Set<string>()
  /** The actions under way, so a stop can wait for them to finish (a start then knows its process). */
  readonly #running = new Set<Promise<void>>()
  /** Failures in a row per unit, for callers that give up instead of retrying forever. */
  readonly #failures = new Map<string, { count: number, message: string }>()
  readonly #waiters = new Set<() => void>()
  #spec: TopologySpec
  #timer: NodeJS.Timeout | undefined
  #wake: NodeJS.Timeout | undefined
  #scheduled = false
  #stopped = false
  #lastError: string | undefined

  constructor (options: ReconcilerOptions) {
    this.#executor = options.executor
    this.#events = options.events
    this.#spec = options.spec
    this.#log = options.log ?? (() => {})
    this.#now = options.now ?? Date.now
    this.#onSync = options.onSync
    this.#executor.on('exit', (name, detail) => {
      this.#backoff.failure(name, this.#now())
      this.#events.append({ actor: 'supervisor', action: 'exited', target: name, result: 'observed', detail })
      this.#log(`${name} exited (${detail})`)
      this.kick()
    })
    this.#timer = setInterval(() => { this.kick() }, options.resyncMs ?? 1000)
    this.#timer.unref()
  }

  get spec (): TopologySpec { return this.#spec }

  /** Replaces the desired state; a spec that cannot work is refused and changes nothing. */
  apply (input: unknown, actor: string, action = 'apply', detail?: string): TopologySpec {
    let spec: TopologySpec
    try {
      spec = validateSpec(input)
    } catch (err) {
      this.#events.append({ actor, action, result: 'refused', detail: (err as Error).message })
      throw err
    }
    this.#spec = spec
    this.#events.append({ actor, action, result: 'ok', detail })
    this.kick()
    return spec
  }

  /** The actions the current spec calls for (for status and dry runs). */
  pending (): Action[] {
    return plan(expand(this.#spec), this.#executor.observe())
  }

  isConverged (): boolean {
    return converged(expand(this.#spec), this.#executor.observe()) && this.#inFlight.size === 0
  }

  /**
   * Resolves once everything runs as specified; rejects after timeoutMs with what is missing, or
   * as soon as one unit has failed `maxFailures` times in a row (a start that cannot succeed).
   */
  async waitConverged (timeoutMs: number, maxFailures = Infinity): Promise<void> {
    const deadline = this.#now() + timeoutMs
    while (!this.isConverged()) {
      if (this.#stopped) throw new OutgrowError('OUTGROW_SHUTTING_DOWN', 'the reconciler was stopped before the stack converged')
      for (const [key, f] of this.#failures) {
        if (f.count >= maxFailures) throw new OutgrowError('OUTGROW_ENGINE_START_FAILED', `${key} failed to start ${f.count} times: ${f.message}`)
      }
      if (this.#now() > deadline) {
        const notReady = this.#executor.observe().filter((o) => o.state !== 'ready').map((o) => `${o.name} ${o.state}${o.detail === undefined ? '' : ` (${o.detail})`}`)
        throw new Error(`the stack did not converge in ${timeoutMs} ms: ${[...notReady, ...this.pending().map(describeAction)].join('; ') || (this.#lastError ?? 'unknown')}`)
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, 200)
        function done (): void { clearTimeout(t); resolve() }
        this.#waiters.add(done)
      })
    }
  }

  kick (): void {
    if (this.#scheduled || this.#stopped) return
    this.#scheduled = true
    setImmediate(() => {
      this.#scheduled = false
      this.#sync()
    })
  }

  #sync (): void {
    if (this.#stopped) return
    for (const w of this.#waiters) w()
    this.#waiters.clear()
    const now = this.#now()
    let nextTry = Infinity
    for (const action of plan(expand(this.#spec), this.#executor.observe())) {
      const key = actionTarget(action)
      if (this.#inFlight.has(key)) continue
      const notBefore = action.type === 'stop' ? 0 : this.#backoff.notBefore(key)
      if (notBefore > now) { nextTry = Math.min(nextTry, notBefore); continue }
      this.#run(key, action)
    }
    if (nextTry !== Infinity) {
      clearTimeout(this.#wake)
      this.#wake = setTimeout(() => { this.kick() }, nextTry - now)
      this.#wake.unref()
    }
    this.#onSync?.(this.#executor.observe())
  }

  #run (key: string, action: Action): void {
    this.#inFlight.add(key)
    const what = describeAction(action)
    const started = this.#now()
    this.#log(`${what}: starting`)
    const running: Promise<void> = this.#executor.execute(action).then(() => {
      this.#failures.delete(key)
      this.#events.append({ actor: 'reconciler', action: action.type, target: key, result: 'ok', detail: `${what} in ${this.#now() - started} ms` })
      this.#log(`${what}: done in ${this.#now() - started} ms`)
    }, (err: unknown) => {
      const message = (err as Error).message
      this.#lastError = `${key}: ${message.split('\n')[0] as string}`
      const delay = this.#backoff.failure(key, this.#now())
      this.#failures.set(key, { count: (this.#failures.get(key)?.count ?? 0) + 1, message })
      this.#events.append({ actor: 'reconciler', action: action.type, target: key, result: 'failed', detail: `${message.split('\n')[0] as string}; next try in ${delay} ms` })
      this.#log(`${what}: failed (${message}); next try in ${delay} ms`)
    }).finally(() => {
      this.#inFlight.delete(key)
      this.#running.delete(running)
      this.kick()
    })
    this.#running.add(running)
  }

  /**
   * Resolves when the actions under way have finished, successful or not (after stop, none start),
   * or after `timeoutMs`: true if they all finished.
   */
  async settled (timeoutMs = Infinity): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined
    const expired = new Promise<false>((resolve) => { if (timeoutMs !== Infinity) timer = setTimeout(() => { resolve(false) }, timeoutMs) })
    try {
      while (this.#running.size > 0) {
        if (await Promise.race([Promise.allSettled([...this.#running]).then(() => true), expired]) === false) return false
      }
      return true
    } finally {
      clearTimeout(timer)
    }
  }

  /** Ends the loop; in-flight actions finish on their own. */
  stop (): void {
    this.#stopped = true
    clearInterval(this.#timer)
    clearTimeout(this.#wake)
    for (const w of this.#waiters) w()
  }
}
