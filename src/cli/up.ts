import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { loadStackConfig } from '../config/load.js'
import { Stack } from '../supervisor/stack.js'
import { definedOnly, resolveConfigFile } from './options.js'

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
  restart: boolean
  seed: boolean
}

/** `outgrow up`: runs a stack in the foreground until Ctrl-C or SIGTERM, then stops it cleanly. */
export async function up (options: UpOptions): Promise<void> {
  const file = resolveConfigFile(options.config)
  const base = await loadStackConfig(file)
  const overrides = definedOnly({
    level: options.level, port: options.port, host: options.host, instances: options.instances, replicas: options.replicas,
    workers: options.workers, balancer: options.balancer, gatewayProcesses: options.gatewayProcesses, dataDir: options.dataDir,
    emulation: { ...base.config.emulation, ...definedOnly({ mode: options.emulation, cpusPerServer: options.cpus }) },
    seed: { ...base.config.seed, ...definedOnly({ products: options.products, users: options.users }) },
  })
  const loaded = await loadStackConfig(file, overrides)
  const log = (line: string): void => { process.stderr.write(`outgrow: ${line}\n`) }
  const stack = new Stack({ loaded, log, restart: options.restart, seed: options.seed })
  let stopping: Promise<void> | undefined
  const stop = (signal: string): void => {
    if (stopping !== undefined) return
    log(`${signal}: stopping the stack`)
    stopping = stack.down().then(async () => {
      await rm(stateFile, { force: true })
      log('stopped')
      process.exit(0)
    })
  }
  const stateFile = join('.outgrow', 'stack.json')
  process.on('SIGINT', () => { stop('SIGINT') })
  process.on('SIGTERM', () => { stop('SIGTERM') })
  // SIGHUP: rolling restart of the app instances, e.g. after deploying new code.
  process.on('SIGHUP', () => {
    log('SIGHUP: rolling restart of the app instances')
    stack.rollingRestart().then(async () => {
      await writeFile(stateFile, JSON.stringify(stack.snapshot(), null, 2))
      log('rolling restart done')
    }, (err: unknown) => { log(`rolling restart failed: ${(err as Error).message}`) })
  })
  const info = await stack.up()
  await mkdir('.outgrow', { recursive: true })
  await writeFile(stateFile, JSON.stringify(info, null, 2))
  log(`level ${info.level} is up: ${info.url} (Ctrl-C stops it)`)
  process.stdout.write(`${JSON.stringify({ ready: true, url: info.url, level: info.level, processes: info.processes.map((p) => ({ name: p.name, pid: p.pid, url: p.url })) })}\n`)
}
