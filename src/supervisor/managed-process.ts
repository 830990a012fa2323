import { spawn, type ChildProcess } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { openSync, closeSync, existsSync, readFileSync } from 'node:fs'
import { OutgrowError } from '../errors/index.js'
import { childNiceArgs } from './priority.js'

export interface RunAs { readonly uid: number, readonly gid: number }

export interface ProcessSpec {
  readonly name: string
  readonly command: string
  readonly args: readonly string[]
  readonly env?: Readonly<Record<string, string>>
  readonly logFile: string
  readonly runAs?: RunAs | undefined
  /** Node processes speak to the supervisor over IPC (ready message; exit when it is gone). */
  readonly ipc?: boolean
  /** Signal the process gets if the supervisor dies without stopping it (Linux pdeathsig). */
  readonly parentDeathSignal?: NodeJS.Signals
}

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p))

/**
 * One child process of a stack. It is spawned through `setpriv --pdeathsig` where available, so
 * the kernel stops it if the supervisor is killed, and in its own process group, so a terminal's
 * Ctrl-C reaches only the supervisor, which then stops everything in order.
 */
export class ManagedProcess extends EventEmitter {
  readonly spec: ProcessSpec
  #child: ChildProcess | undefined
  #exited: Promise<number | null> | undefined

  constructor (spec: ProcessSpec) {
    super()
    this.spec = spec
  }

  get pid (): number | undefined { return this.#child?.pid }
  get running (): boolean { return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null }

  start (): void {
    const { spec } = this
    const wrapper: string[] = []
    if (SETPRIV !== undefined) {
      wrapper.push(SETPRIV)
      if (spec.runAs !== undefined) wrapper.push(`--reuid=${spec.runAs.uid}`, `--regid=${spec.runAs.gid}`, '--clear-groups')
      wrapper.push(`--pdeathsig=${spec.parentDeathSignal ?? 'SIGTERM'}`, '--')
    } else if (spec.runAs !== undefined) {
      throw new OutgrowError('OUTGROW_ENGINE_MISSING', 'setpriv (util-linux) is needed to run engines as another user: apt-get install util-linux')
    }
    const argv = [...childNiceArgs(), ...wrapper, spec.command, ...spec.args]
    const log = openSync(spec.logFile, 'a')
    try {
      const child = spawn(argv[0] as string, argv.slice(1), {
        stdio: spec.ipc === true ? ['ignore', log, log, 'ipc'] : ['ignore', log, log],
        env: { ...process.env, ...spec.env },
        detached: true,
      })
      this.#child = child
      this.#exited = new Promise((resolve) => {
        child.once('exit', (code, signal) => {
          this.emit('exit', code, signal)
          resolve(code)
        })
        child.once('error', (err) => {
          this.emit('exit', null, null, err)
          resolve(null)
        })
      })
      child.on('message', (message) => { this.emit('message', message) })
    } finally {
      closeSync(log)
    }
  }

  /** Resolves on the child's 'ready' IPC message; rejects if it exits first or time runs out. */
  async waitForReadyMessage (timeoutMs: number): Promise<Record<string, unknown>> {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => { cleanup(); reject(this.#failure('did not become ready in time')) }, timeoutMs)
      const onMessage = (message: unknown): void => {
        if (typeof message === 'object' && message !== null && (message as { type?: string }).type === 'ready') {
          cleanup()
          resolve(message as Record<string, unknown>)
        }
      }
      const onExit = (): void => { cleanup(); reject(this.#failure('exited during start')) }
      const cleanup = (): void => {
        clearTimeout(timer)
        this.off('message', onMessage)
        this.off('exit', onExit)
      }
      this.on('message', onMessage)
      this.once('exit', onExit)
    })
  }

  #failure (what: string): OutgrowError {
    return new OutgrowError('OUTGROW_ENGINE_START_FAILED', `${this.spec.name} ${what}; last log lines:\n${this.logTail(15)}`)
  }

  logTail (lines: number): string {
    try {
      return readFileSync(this.spec.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
    } catch {
      return '(no log)'
    }
  }

  /** Sends a message over the IPC channel of a process started with `ipc`; rejects when there is none. */
  async send (message: object): Promise<void> {
    const child = this.#child
    if (child === undefined || !child.connected) throw new Error(`${this.spec.name} has no open IPC channel`)
    await new Promise<void>((resolve, reject) => {
      child.send(message, (err) => { if (err === null) resolve(); else reject(err) })
    })
  }

  /**
   * Sends signal, waits up to timeoutMs, then SIGKILL. With resendEveryMs, the signal is sent
   * again at that interval meanwhile, for a server that declines a shutdown it cannot do yet and
   * tries again only on a new signal (Redis writing its first AOF).
   */
  async stop (signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000, resendEveryMs?: number): Promise<void> {
    const child = this.#child
    if (child === undefined || !this.running) return
    child.kill(signal)
    const resend = resendEveryMs === undefined ? undefined : setInterval(() => { child.kill(signal) }, resendEveryMs)
    const timer = setTimeout(() => { child.kill('SIGKILL') }, timeoutMs)
    await this.#exited
    clearTimeout(timer)
    clearInterval(resend)
  }

  kill (signal: NodeJS.Signals = 'SIGKILL'): void {
    this.#child?.kill(signal)
  }

  async exited (): Promise<number | null> {
    return await (this.#exited ?? Promise.resolve(null))
  }
}
