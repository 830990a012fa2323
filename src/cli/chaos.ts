import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { ControlClient } from '../control/client.js'
import type { StackInfo } from '../control/stack.js'
import { OutgrowError } from '../errors/index.js'
import { formatChaosReport } from '../lab/chaos/report.js'
import { baselineMs, runChaos } from '../lab/chaos/run.js'
import { isScenario, SCENARIOS } from '../lab/chaos/scenarios.js'
import { resolveDataDir } from './data-dir.js'

export interface ChaosCliOptions {
  readonly dataDir?: string
  readonly config?: string
  readonly duration: number
  readonly rate: number
  readonly freeze: number
  readonly clients: number
  readonly password: string
  readonly json?: boolean
}

/** `outgrow chaos <scenario>`: fault injection against the running stack, with a no-loss verdict. */
export async function chaos (scenario: string, options: ChaosCliOptions): Promise<void> {
  if (!isScenario(scenario)) throw new OutgrowError('OUTGROW_VALIDATION', `unknown scenario ${scenario}: expected one of ${SCENARIOS.join(', ')}`)
  const durationMs = options.duration * 1000
  if (scenario === 'freeze-primary' && options.freeze * 1000 >= durationMs - baselineMs(durationMs)) {
    throw new OutgrowError('OUTGROW_VALIDATION', `--freeze (${options.freeze} s) must end before the run does: the fault comes after ${baselineMs(durationMs) / 1000} s of a ${options.duration} s run`)
  }
  const dataDir = resolveDataDir(options)
  const control = ControlClient.forDataDir(dataDir)
  const dir = join(dataDir, 'chaos')
  mkdirSync(dir, { recursive: true })
  const ackLogFile = join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${scenario}.acks.jsonl`)
  const report = await runChaos({
    scenario,
    stack: async () => await control.call<StackInfo>('GET', '/v1/status'),
    durationMs,
    rate: options.rate,
    freezeMs: options.freeze * 1000,
    clients: options.clients,
    password: options.password,
    ackLogFile,
    log: (line) => { process.stderr.write(`${line}\n`) },
  })
  process.stdout.write(`${options.json === true ? JSON.stringify(report, null, 2) : formatChaosReport(report)}\n`)
  if (!report.verdict.safe) throw new OutgrowError('OUTGROW_CHAOS_UNSAFE', report.verdict.violations.join('; '))
}
