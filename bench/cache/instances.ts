import { fork, type ChildProcess } from 'node:child_process'
import type { CacheShape } from './contenders.js'

/** What a child instance is started with (its argv[2], as JSON). */
export interface InstanceConfig {
  readonly shape: CacheShape
  readonly postgresUrl: string
  readonly dbConnections: number
}

interface Reply { readonly id: number, readonly result?: unknown, readonly error?: string }

const INSTANCE_SCRIPT = new URL('./instance.js', import.meta.url)

/**
 * Application instances as separate Node processes (each with its own Redis connections, cache
 * and database pool), driven over IPC: a task is sent to one or all, and their answers awaited.
 */
export class Instances {
  readonly #children: ChildProcess[]
  readonly #pending = new Map<number, { resolve: (value: unknown) => void, reject: (err: Error) => void }>()
  #nextId = 0

  private constructor (children: ChildProcess[]) {
    this.#children = children
    for (const child of children) {
      child.on('message', (message: Reply) => {
        const waiting = this.#pending.get(message.id)
        if (waiting === undefined) return
        this.#pending.delete(message.id)
        if (message.error !== undefined) waiting.reject(new Error(message.error))
        else waiting.resolve(message.result)
      })
      child.on('exit', (code) => {
        for (const waiting of this.#pending.values()) waiting.reject(new Error(`an instance exited (code ${code ?? 'none'}) with a task pending`))
        this.#pending.clear()
      })
    }
  }

  /** Starts `count` instances and waits until each has its cache open. */
  static async start (count: number, config: InstanceConfig): Promise<Instances> {
    const children = Array.from({ length: count }, () => fork(INSTANCE_SCRIPT, [JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }))
    const instances = new Instances(children)
    await instances.all('ready', {})
    return instances
  }

  get count (): number { return this.#children.length }

  async one<T>(index: number, task: string, args: unknown): Promise<T> {
    const child = this.#children[index]
    if (child === undefined) throw new RangeError(`no instance ${index}`)
    const id = this.#nextId++
    const answer = new Promise<unknown>((resolve, reject) => { this.#pending.set(id, { resolve, reject }) })
    child.send({ id, task, args })
    return await answer as T
  }

  async all<T>(task: string, args: unknown): Promise<T[]> {
    return await Promise.all(this.#children.map(async (_, i) => await this.one<T>(i, task, args)))
  }

  /** Asks every instance to close its cache and exit; kills one that has not within 5 s. */
  async stop (): Promise<void> {
    await Promise.all(this.#children.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      const id = this.#nextId++
      child.send({ id, task: 'exit', args: {} }, () => {})
      const timer = setTimeout(() => { child.kill('SIGKILL') }, 5000)
      await exited
      clearTimeout(timer)
    }))
  }
}
