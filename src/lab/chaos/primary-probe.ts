import { PgProbe } from './node-probes.js'
import type { ProbeRound } from './verdict.js'

export interface ProbedNode { readonly name: string, readonly url: string }

export interface PrimaryProbeOptions {
  /** The PostgreSQL nodes to ask now (read before every round, so a node added later is asked too). */
  readonly nodes: () => readonly ProbedNode[]
  /** Milliseconds since the run began. */
  readonly now: () => number
  readonly intervalMs?: number
  /** How long one node may take to answer before it counts as unreachable for that round. */
  readonly timeoutMs?: number
}

/**
 * Asks every PostgreSQL node, about every 100 ms and all at once, whether it is a writable
 * primary. Each round is one instant of the verdict: two writable nodes in one round are two
 * primaries accepting writes at the same time.
 */
export class PrimaryProbe {
  readonly rounds: ProbeRound[] = []
  readonly #options: PrimaryProbeOptions
  readonly #probes = new Map<string, PgProbe>()
  #stopped = false
  #loop: Promise<void> | undefined

  constructor (options: PrimaryProbeOptions) {
    this.#options = options
  }

  start (): void {
    this.#loop ??= this.#run()
  }

  /** The last round's writable nodes (empty before the first). */
  get writable (): readonly string[] { return this.rounds.at(-1)?.writable ?? [] }

  async #run (): Promise<void> {
    const interval = this.#options.intervalMs ?? 100
    while (!this.#stopped) {
      const began = Date.now()
      await this.round()
      const wait = interval - (Date.now() - began)
      if (wait > 0 && !this.#stopped) await new Promise((resolve) => setTimeout(resolve, wait))
    }
  }

  /** One round over every node; recorded and returned. */
  async round (): Promise<ProbeRound> {
    const nodes = this.#options.nodes()
    const at = this.#options.now()
    const answers = await Promise.all(nodes.map(async (node) => {
      const key = `${node.name} ${node.url}`
      let probe = this.#probes.get(key)
      if (probe === undefined) this.#probes.set(key, probe = new PgProbe(node.url, this.#options.timeoutMs ?? 500))
      return { name: node.name, writable: await probe.writable() }
    }))
    const round: ProbeRound = {
      at,
      writable: answers.filter((a) => a.writable === true).map((a) => a.name),
      unreachable: answers.filter((a) => a.writable === undefined).map((a) => a.name),
    }
    this.rounds.push(round)
    return round
  }

  async stop (): Promise<void> {
    this.#stopped = true
    await this.#loop
    for (const probe of this.#probes.values()) probe.close()
  }
}
