import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { loadStackConfig } from '../config/load.js'
import { freePort } from '../supervisor/free-port.js'
import { Stack, type StackProcessInfo } from '../control/stack.js'
import { startCounterTimeline } from './counter-timeline.js'
import type { CpuWindowSource } from './cpu-window.js'
import { describeMachine } from './machine.js'
import { runOpenLoop } from './open-loop.js'
import { progressPrinter } from './progress.js'
import { renderMarkdown, type BenchReport, type BenchSettings, type LevelResult } from './report.js'
import { writeChartsBeside } from './report-charts/write-report.js'
import { ratesBetween, readCounters } from './server-stats.js'
import { UserMix } from './user-mix.js'
import { loginUsers } from './virtual-users.js'
import { seededRandom } from './zipf.js'

export interface LoadSettings {
  readonly rate: number
  readonly durationSeconds: number
  readonly warmupSeconds: number
  readonly users: number
  readonly connections: number
  readonly timeoutMs: number
  readonly password: string
}

export interface MeasureTarget {
  readonly url: string
  readonly products: number
  readonly processes: readonly StackProcessInfo[]
  readonly label: string
  /** Each server's CPU accounting (the stack), for the report's CPU chart. */
  readonly cpu?: CpuWindowSource | undefined
}

/** Logs users in, warms up, then runs the measured load and reads the server counters around it. */
export async function measure (target: MeasureTarget, settings: LoadSettings): Promise<Omit<LevelResult, 'level' | 'topology' | 'emulation'>> {
  const users = await loginUsers(target.url, settings.users, settings.password)
  const mix = new UserMix(users, target.products, seededRandom(42))
  const common = { url: target.url, rate: settings.rate, connections: settings.connections, timeoutMs: settings.timeoutMs, next: () => mix.next() }
  if (settings.warmupSeconds > 0) {
    await runOpenLoop({ ...common, durationMs: settings.warmupSeconds * 1000, onTick: progressPrinter(`${target.label} warm-up`) })
  }
  const before = await readCounters(target.processes)
  const timeline = startCounterTimeline(target.processes, target.cpu)
  const load = await runOpenLoop({ ...common, durationMs: settings.durationSeconds * 1000, onTick: progressPrinter(target.label), perSecond: {} })
  const samples = await timeline.stop()
  const after = await readCounters(target.processes)
  return { load, server: ratesBetween(before, after, load.durationMs / 1000), timeline: samples }
}

export interface BenchLevelsOptions {
  readonly configFile: string
  readonly levels: readonly number[]
  readonly load: LoadSettings
  readonly outDir: string
  readonly overrides?: Record<string, unknown>
  readonly log: (line: string) => void
}

/** Brings each level up in turn, runs the same load against it, and writes report.md and report.json. */
export async function benchLevels (options: BenchLevelsOptions): Promise<{ report: BenchReport, files: string[] }> {
  const results: LevelResult[] = []
  let products = 0
  let cpusPerServer = 0
  for (const level of options.levels) {
    const port = await freePort()
    const loaded = await loadStackConfig(options.configFile, { ...options.overrides, level, port })
    products = loaded.config.seed.products
    cpusPerServer = loaded.config.emulation.cpusPerServer
    const stack = new Stack({ loaded, control: false, log: (line) => { options.log(`  L${level}: ${line}`) } })
    options.log(`level ${level}: starting`)
    const info = await stack.up()
    try {
      const measured = await measure({ url: info.url, products, processes: info.processes, label: `L${level}`, cpu: stack }, options.load)
      results.push({ level, topology: info.topology, emulation: info.emulation, ...measured })
      options.log(`level ${level}: ${measured.load.achievedRate} req/s achieved, p99 ${measured.load.latency.p99Ms} ms`)
    } finally {
      await stack.down()
    }
  }
  const settings: BenchSettings = {
    rate: options.load.rate, durationSeconds: options.load.durationSeconds, warmupSeconds: options.load.warmupSeconds,
    users: options.load.users, connections: options.load.connections, products, cpusPerServer,
  }
  const report: BenchReport = { createdAt: new Date().toISOString(), machine: describeMachine(), settings, levels: results }
  await mkdir(options.outDir, { recursive: true })
  const files = [join(options.outDir, 'report.md'), join(options.outDir, 'report.json')]
  await writeFile(files[0] as string, renderMarkdown(report))
  await writeFile(files[1] as string, JSON.stringify(report, null, 2) + '\n')
  files.push(await writeChartsBeside({ kind: 'levels', report }, files[0] as string))
  return { report, files }
}
