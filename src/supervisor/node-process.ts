import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ProcessConfigInput } from '../config/process-config.js'
import type { ServerEmulation } from './emulation.js'
import { ManagedProcess } from './managed-process.js'

const PROCESS_MAIN = fileURLToPath(new URL('../runtime/process-main.js', import.meta.url))

export interface NodeProcessOptions {
  readonly name: string
  readonly server: string
  readonly config: ProcessConfigInput
  readonly logDir: string
  readonly emulation: ServerEmulation
  readonly restart: boolean
  readonly log: (line: string) => void
}

/**
 * An app, worker or gateway process, restarted with backoff when it dies unexpectedly (like a
 * process manager would), and never when the stack is stopping.
 */
export class NodeProcess {
  readonly options: NodeProcessOptions
  #current: ManagedProcess | undefined
  #stopping = false
  #backoffMs = 500
  #restartTimer: NodeJS.Timeout | undefined
  #startedAt = 0

  constructor (options: NodeProcessOptions) {
    this.options = options
  }

  get pid (): number | undefined { return this.#current?.pid }
  get running (): boolean { return this.#current?.running ?? false }

  async start (timeoutMs = 30_000): Promise<void> {
    const { name, config, logDir, emulation, server } = this.options
    const proc = new ManagedProcess({
      name,
      command: process.execPath,
      args: [PROCESS_MAIN],
      env: { OUTGROW_PROCESS: JSON.stringify(config) },
      logFile: join(logDir, `${name}.log`),
      ipc: true,
    })
    this.#current = proc
    proc.start()
    if (proc.pid !== undefined) emulation.place(server, proc.pid)
    this.#startedAt = Date.now()
    proc.once('exit', (code: number | null, signal: string | null) => { this.#onExit(proc, code, signal) })
    await proc.waitForReadyMessage(timeoutMs)
  }

  #onExit (proc: ManagedProcess, code: number | null, signal: string | null): void {
    if (this.#stopping || proc !== this.#current) return
    this.options.log(`${this.options.name} exited (${signal ?? `code ${String(code)}`})`)
    if (!this.options.restart) return
    if (Date.now() - this.#startedAt > 60_000) this.#backoffMs = 500
    const delay = this.#backoffMs
    this.#backoffMs = Math.min(this.#backoffMs * 2, 30_000)
    this.#restartTimer = setTimeout(() => {
      this.start().then(() => { this.options.log(`${this.options.name} restarted`) }, (err: unknown) => {
        this.options.log(`${this.options.name} failed to restart: ${(err as Error).message}`)
      })
    }, delay)
  }

  /** Stops the process and starts a fresh one in its place. */
  async restart (timeoutMs = 30_000): Promise<void> {
    this.#stopping = true
    await this.#current?.stop('SIGTERM', timeoutMs)
    this.#stopping = false
    await this.start()
  }

  async stop (timeoutMs = 10_000): Promise<void> {
    this.#stopping = true
    if (this.#restartTimer !== undefined) clearTimeout(this.#restartTimer)
    await this.#current?.stop('SIGTERM', timeoutMs)
  }
}
