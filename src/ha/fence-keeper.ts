/**
 * The agent's side of the fence keeper (fence-keeper-main.ts): a child process spoken to over IPC.
 * A keeper that is gone answers nothing: requests reject, so the caller fences directly and never
 * unfences.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { openSync, closeSync } from 'node:fs'

export type KeeperRequest =
  | { readonly id: number, readonly op: 'fence' }
  | { readonly id: number, readonly op: 'unfence', readonly until: number }
  | { readonly id: number, readonly op: 'extend', readonly until: number }
  | { readonly id: number, readonly op: 'postmaster', readonly pid: number }

export interface KeeperReply {
  readonly id: number
  readonly ok: boolean
  readonly error?: string
}

type Request = KeeperRequest extends infer R ? R extends { id: number } ? Omit<R, 'id'> : never : never

export class FenceKeeper {
  readonly #child: ChildProcess
  readonly #pending = new Map<number, { resolve: (ok: boolean) => void, reject: (err: Error) => void }>()
  #nextId = 1
  #gone = false

  private constructor (child: ChildProcess) {
    this.#child = child
    child.on('message', (reply: KeeperReply) => {
      const pending = this.#pending.get(reply.id)
      this.#pending.delete(reply.id)
      if (pending === undefined) return
      if (reply.error !== undefined) pending.reject(new Error(`fence keeper: ${reply.error}`))
      else pending.resolve(reply.ok)
    })
    child.once('exit', () => {
      this.#gone = true
      for (const p of this.#pending.values()) p.reject(new Error('fence keeper exited'))
      this.#pending.clear()
    })
  }

  /** Starts a keeper for the PostgreSQL at url; its log lines go to logFile. Resolves once it runs. */
  static async start (options: { url: string, fenceTimeoutMs: number, logFile: string }): Promise<FenceKeeper> {
    const log = openSync(options.logFile, 'a')
    let child: ChildProcess
    try {
      child = fork(new URL('./fence-keeper-main.js', import.meta.url), [], {
        env: { ...process.env, OUTGROW_FENCE_KEEPER: JSON.stringify({ url: options.url, fenceTimeoutMs: options.fenceTimeoutMs }) },
        stdio: ['ignore', log, log, 'ipc'],
        // Its own process group: a signal to the agent's group does not reach it.
        detached: true,
      })
    } finally {
      closeSync(log)
    }
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => { resolve() })
      child.once('exit', (code) => { reject(new Error(`fence keeper exited during start (${code})`)) })
    })
    return new FenceKeeper(child)
  }

  get pid (): number | undefined { return this.#child.pid }

  /** Fences now; resolves once it took effect. */
  async fence (): Promise<void> { await this.#ask({ op: 'fence' }) }
  /** Writable until `until` (epoch ms); false (still fenced) if `until` has passed. */
  async unfence (until: number): Promise<boolean> { return await this.#ask({ op: 'unfence', until }) }
  /** Moves the deadline of an unfenced server; false if it is fenced. */
  async extend (until: number): Promise<boolean> { return await this.#ask({ op: 'extend', until }) }
  /** The postmaster's pid (= its process group), killed if a fence of the keeper's own does not land. */
  async setPostmaster (pid: number): Promise<void> { await this.#ask({ op: 'postmaster', pid }) }

  /** Closes the channel: the keeper fences and exits. */
  close (): void {
    if (!this.#gone) this.#child.disconnect()
  }

  async #ask (request: Request): Promise<boolean> {
    if (this.#gone) throw new Error('fence keeper exited')
    const id = this.#nextId++
    return await new Promise<boolean>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      this.#child.send({ ...request, id })
    })
  }
}
