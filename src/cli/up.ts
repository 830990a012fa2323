import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { loadStackConfig } from '../config/load.js'
import { Stack } from '../control/stack.js'
import { resolveDataDir } from './data-dir.js'
import { definedOnly, resolveConfigFile } from './options.js'
import { upLogLine } from './up-progress.js'

export interface UpOptions {
  config?: string
  level?: number
  port?: number
  host?: string
  instances?: number
  replicas?: number
  workers?: number
  balancer?: string
  gatewayProcesses?: number
  emulation?: string
  cpus?: number
  products?: number
  users?: number
  dataDir?: string
  fresh: boolean
  seed: boolean
  ha?: boolean
  prometheus?: boolean
  controlHost?: string
  controlPort?: number
}

/** `outgrow up`: runs a stack in the foreground until Ctrl-C, SIGTERM or `outgrow down`, then stops it cleanly. */
export async function up (options: UpOptions): Promise<void> {
  const file = resolveConfigFile(options.config)
  const base = await loadStackConfig(file).catch(() => undefined)
  const overrides = definedOnly({
    level: options.level, port: options.port, host: options.host, instances: options.instances, replicas: options.replicas,
    workers: options.workers, balancer: options.balancer, gatewayProcesses: options.gatewayProcesses, ha: options.ha,
    emulation: base === undefined ? undefined : { ...base.config.emulation, ...definedOnly({ mode: options.emulation, cpusPerServer: options.cpus }) },
    seed: base === undefined ? undefined : { ...base.config.seed, ...definedOnly({ products: options.products, users: options.users }) },
    control: options.controlHost === undefined && options.controlPort === undefined ? undefined : { ...base?.config.control, ...definedOnly({ host: options.controlHost, port: options.controlPort }) },
  })
  const loaded = await loadStackConfig(file, overrides)
  const dataDir = resolveDataDir({ dataDir: options.dataDir ?? loaded.config.dataDir, config: file })
  // Each line carries the seconds since start, so a slow step stands out (stdout keeps only the JSON ready line).
  const startedAt = Date.now()
  const log = (line: string): void => { process.stderr.write(`outgrow: ${upLogLine(line, Date.now() - startedAt)}\n`) }
  const stack = new Stack({ loaded, dataDir, fresh: options.fresh, log, seed: options.seed, prometheus: options.prometheus === true })
  const stateFile = join(dataDir, 'stack.json')
  let stopping = false
  const stop = (why: string): void => {
    if (stopping) return
    stopping = true
    log(`${why}: stopping the stack`)
    const force = setTimeout(() => { log('stop took too long; exiting'); process.exit(1) }, 30_000)
    force.unref()
    void stack.down(why === 'outgrow down' ? 'cli' : 'supervisor').then(async () => {
      await rm(stateFile, { force: true })
      log(`stopped; data kept in ${dataDir} (--fresh starts over)`)
      process.exit(0)
    })
  }
  process.on('SIGINT', () => { stop('SIGINT') })
  process.on('SIGTERM', () => { stop('SIGTERM') })
  stack.onDownRequest(() => { stop('outgrow down') })
  // SIGHUP: rolling restart of the app instances, e.g. after deploying new code.
  process.on('SIGHUP', () => {
    log('SIGHUP: rolling restart of the app instances')
    try {
      stack.rollingRestart('signal')
    } catch (err) {
      log(`rolling restart refused: ${(err as Error).message}`)
      return
    }
    stack.waitConverged(300_000).then(async () => {
      await writeFile(stateFile, JSON.stringify(stack.info(), null, 2))
      log('rolling restart done')
    }, (err: unknown) => { log(`rolling restart failed: ${(err as Error).message}`) })
  })
  // A stop asked for during the start makes the start give up; the stop handler then exits.
  const info = await stack.up().catch(async (err: unknown) => {
    if (!stopping) throw err
    return await new Promise<never>(() => {})
  })
  log(`level ${info.level} is up: ${info.url} (Ctrl-C or \`outgrow down\` stops it; \`outgrow status\` shows it)`)
  log(`control API on ${stack.controlUrl ?? '-'}; data in ${dataDir}`)
  if (info.prometheus !== undefined) log(`prometheus on ${info.prometheus}`)
  // The token in this URL signs a browser in; `outgrow dashboard` prints it again.
  log(`dashboard: ${stack.dashboardUrl ?? '-'}`)
  process.stdout.write(`${JSON.stringify({ ready: true, url: info.url, level: info.level, dataDir, dashboard: stack.dashboardUrl, processes: info.processes.map((p) => ({ name: p.name, pid: p.pid, url: p.url })), ...(info.prometheus === undefined ? {} : { prometheus: info.prometheus }) })}\n`)
}
