import { EventEmitter } from 'node:events'

export interface RegisteredInstance {
  readonly id: string
  readonly url: string
  readonly weight?: number
}

export interface RegisterOptions {
  /**
   * Called once when someone else removes the instance (the admin API's DELETE). The registration
   * then stays out: it is never re-created by a heartbeat, only by a new register().
   */
  readonly onRemoved?: () => void
}

/** What register() hands the instance: the one way to leave without being reported as removed. */
export interface Registration {
  readonly instance: RegisteredInstance
  /** Stops keeping the entry alive and removes it (scale-in, shutdown). */
  leave(): Promise<void>
}

/**
 * Membership: app instances register and deregister at run time; gateways watch. In memory for
 * one process; in Redis (`redis-registry.ts`) so that several gateways on several hosts share it.
 * register() is the only call that creates an entry; deregister() removes one for everybody and
 * tells its owner through `onRemoved`.
 */
export interface Registry {
  register(instance: RegisteredInstance, options?: RegisterOptions): Promise<Registration>
  deregister(id: string): Promise<void>
  list(): Promise<RegisteredInstance[]>
  /** Calls back with the full member list whenever it may have changed. */
  watch(onChange: (instances: RegisteredInstance[]) => void): () => void
  close(): Promise<void>
}

export class MemoryRegistry implements Registry {
  readonly #members = new Map<string, RegisteredInstance>()
  readonly #owners = new Map<string, RegisterOptions>()
  readonly #events = new EventEmitter()

  async register (instance: RegisteredInstance, options: RegisterOptions = {}): Promise<Registration> {
    this.#members.set(instance.id, instance)
    this.#owners.set(instance.id, options)
    this.#events.emit('change', [...this.#members.values()])
    return {
      instance,
      leave: async () => {
        if (this.#owners.get(instance.id) !== options) return // removed or registered anew since
        this.#owners.delete(instance.id)
        this.#remove(instance.id)
      },
    }
  }

  async deregister (id: string): Promise<void> {
    const owner = this.#owners.get(id)
    this.#owners.delete(id)
    this.#remove(id)
    owner?.onRemoved?.()
  }

  #remove (id: string): void {
    if (this.#members.delete(id)) this.#events.emit('change', [...this.#members.values()])
  }

  async list (): Promise<RegisteredInstance[]> {
    return [...this.#members.values()]
  }

  watch (onChange: (instances: RegisteredInstance[]) => void): () => void {
    this.#events.on('change', onChange)
    return () => { this.#events.off('change', onChange) }
  }

  async close (): Promise<void> {
    this.#events.removeAllListeners()
  }
}
