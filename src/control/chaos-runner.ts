import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { OutgrowError } from '../errors/index.js'
import { gatherFacts } from '../lab/chaos/facts.js'
import { baselineMs, runChaos, type ChaosReport } from '../lab/chaos/run.js'
import { selectTarget, type ScenarioName } from '../lab/chaos/scenarios.js'
import type { EventLog } from './event-log.js'
import type { StackInfo } from './stack.js'

export interface ChaosRequest {
  readonly scenario: ScenarioName
  readonly durationSeconds: number
  readonly rate: number
}

export interface ChaosRunView {
  readonly scenario: ScenarioName
  readonly actor: string
  readonly startedAt: string
  readonly durationSeconds: number
  readonly rate: number
}

export interface ChaosState {
  readonly running: ChaosRunView | null
  readonly last: (ChaosRunView & { readonly endedAt: string, readonly safe: boolean | null, readonly error: string | null, readonly report: ChaosReport | null }) | null
}

/** What `outgrow chaos` uses beyond the request: seconds a frozen primary stays stopped. */
const FREEZE_SECONDS = 5
const CLIENTS = 16
const PASSWORD = 'password123'

/**
 * Chaos scenarios started through the control API (the dashboard's button), run in the background
 * inside the supervisor as `outgrow chaos` runs them from outside: one at a time, start and verdict
 * in the event log, the last report kept for `GET /v1/chaos`.
 */
export class ChaosRunner {
  readonly #stack: () => Promise<StackInfo>
  readonly #events: EventLog
  readonly #dataDir: string
  #running: ChaosRunView | null = null
  #last: ChaosState['last'] = null

  constructor (options: { stack: () => Promise<StackInfo>, events: EventLog, dataDir: string }) {
    this.#stack = options.stack
    this.#events = options.events
    this.#dataDir = options.dataDir
  }

  state (): ChaosState { return { running: this.#running, last: this.#last } }

  /** Starts a run once its target is known to exist; refuses while another runs. */
  async start (request: ChaosRequest, actor: string): Promise<ChaosRunView> {
    if (this.#running !== null) throw new OutgrowError('OUTGROW_CHAOS_RUNNING', `chaos ${this.#running.scenario} is running (started ${this.#running.startedAt}): wait for its verdict (GET /v1/chaos)`)
    const durationMs = request.durationSeconds * 1000
    if (request.scenario === 'freeze-primary' && FREEZE_SECONDS * 1000 >= durationMs - baselineMs(durationMs)) {
      throw new OutgrowError('OUTGROW_VALIDATION', `durationSeconds: freeze-primary needs more than ${FREEZE_SECONDS} s after the fault; give at least 8`, { field: 'durationSeconds' })
    }
    const run: ChaosRunView = { scenario: request.scenario, actor, startedAt: new Date().toISOString(), durationSeconds: request.durationSeconds, rate: request.rate }
    this.#running = run
    try {
      // Refused up front, with its reason, when the stack has nothing this scenario can hit.
      const info = await this.#stack()
      selectTarget(request.scenario, info.processes, await gatherFacts(request.scenario, info.processes))
    } catch (err) {
      this.#running = null
      throw err
    }
    this.#events.append({ actor, action: 'chaos', target: request.scenario, result: 'requested', detail: `${request.durationSeconds} s at ${request.rate} operations/s` })
    // Runs on after the answer; #run never throws (its outcome goes to the event log and state()).
    void this.#run(run, request)
    return run
  }

  async #run (run: ChaosRunView, request: ChaosRequest): Promise<void> {
    let report: ChaosReport | null = null
    let error: string | null = null
    try {
      const dir = join(this.#dataDir, 'chaos')
      await mkdir(dir, { recursive: true })
      report = await runChaos({
        scenario: request.scenario,
        stack: this.#stack,
        durationMs: request.durationSeconds * 1000,
        rate: request.rate,
        freezeMs: FREEZE_SECONDS * 1000,
        clients: CLIENTS,
        password: PASSWORD,
        ackLogFile: join(dir, `${run.startedAt.replace(/[:.]/g, '-')}-${request.scenario}.acks.jsonl`),
      })
      const v = report.verdict
      this.#events.append({ actor: run.actor, action: 'chaos', target: request.scenario, result: v.safe ? 'ok' : 'failed', detail: v.safe ? `safe: ${report.fault.target} ${report.fault.kind === 'kill' ? 'killed' : 'frozen'}, ${v.orders.acknowledged} orders acknowledged, none lost` : `unsafe: ${v.violations.join('; ')}` })
    } catch (err) {
      error = (err as Error).message
      this.#events.append({ actor: run.actor, action: 'chaos', target: request.scenario, result: 'failed', detail: error })
    } finally {
      this.#last = { ...run, endedAt: new Date().toISOString(), safe: report?.verdict.safe ?? null, error, report }
      this.#running = null
    }
  }
}
