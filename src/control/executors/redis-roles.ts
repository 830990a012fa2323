import { createRedisClient } from '../../runtime/redis-client.js'

/**
 * What each Redis data node of a Sentinel group is now (`master` or `replica`, from its own ROLE),
 * polled every second for `outgrow status`: after a failover the names stay, the roles move.
 */
export class RedisRoles {
  readonly #roles = new Map<string, string>()
  readonly #nodes: () => ReadonlyMap<string, number>
  #timer: NodeJS.Timeout | undefined

  /** nodes: the data nodes to ask now, by unit name, with their ports. */
  constructor (nodes: () => ReadonlyMap<string, number>) {
    this.#nodes = nodes
  }

  roleOf (name: string): string | undefined { return this.#roles.get(name) }

  start (intervalMs = 1000): void {
    this.#timer ??= setInterval(() => { void this.refresh() }, intervalMs).unref()
  }

  async refresh (): Promise<void> {
    const nodes = this.#nodes()
    for (const name of this.#roles.keys()) if (!nodes.has(name)) this.#roles.delete(name)
    await Promise.all([...nodes].map(async ([name, port]) => {
      const client = createRedisClient(`redis://127.0.0.1:${port}`, { purpose: 'probe', overrides: { connectTimeout: 500, commandTimeout: 500 } })
      try {
        await client.connect()
        const [role] = await client.call('ROLE') as [string]
        this.#roles.set(name, role === 'slave' ? 'replica' : role)
      } catch {
        this.#roles.delete(name)
      } finally {
        client.disconnect()
      }
    }))
  }

  stop (): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }
}
