import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ProcessConfigInput } from '../config/process-config.js'
import { ManagedProcess } from './managed-process.js'

const PROCESS_MAIN = fileURLToPath(new URL('../runtime/process-main.js', import.meta.url))

export interface NodeProcessOptions {
  readonly name: string
  readonly config: ProcessConfigInput
  readonly logDir: string
}

/** What a child reports when it is ready: at least the address it bound. */
export interface ReadyMessage {
  readonly address?: string
  readonly url?: string
  readonly [key: string]: unknown
}

/**
 * An app, worker or gateway process of a stack: process-main.js with its config in the
 * environment, ready when it says so over IPC. It does not restart itself: the reconciler decides.
 */
export class NodeProcess {
  readonly options: NodeProcessOptions
  readonly process: ManagedProcess

  constructor (options: NodeProcessOptions) {
    this.options = options
    this.process = new ManagedProcess({
      name: options.name,
      command: process.execPath,
      args: [PROCESS_MAIN],
      env: { OUTGROW_PROCESS: JSON.stringify(options.config) },
      logFile: join(options.logDir, `${options.name}.log`),
      ipc: true,
    })
  }

  /** Spawns the process; `place` puts it on its emulated server before it does any work. */
  async start (place: (pid: number) => void, timeoutMs = 60_000): Promise<ReadyMessage> {
    this.process.start()
    if (this.process.pid !== undefined) place(this.process.pid)
    return await this.process.waitForReadyMessage(timeoutMs)
  }

  /** SIGTERM (the process drains and exits), SIGKILL after timeoutMs. */
  async stop (timeoutMs = 8000): Promise<void> {
    await this.process.stop('SIGTERM', timeoutMs)
  }
}
