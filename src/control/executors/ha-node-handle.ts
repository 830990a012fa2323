import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { OutgrowError } from '../../errors/index.js'
import type { AgentProcessConfig } from '../../ha/agent-main.js'
import type { HaConfigInput } from '../../ha/config.js'
import { DATABASE } from '../../supervisor/engines/postgres.js'
import { ManagedProcess } from '../../supervisor/managed-process.js'
import type { LocalHandle, Placement } from './local-handles.js'

const AGENT_MAIN = fileURLToPath(new URL('../../ha/agent-main.js', import.meta.url))

export interface HaNodeHandleOptions {
  /** Unit name, also the member name. */
  readonly name: string
  /** The cluster's name in etcd (key prefix). */
  readonly cluster: string
  readonly etcdHosts: readonly string[]
  readonly dataDir: string
  readonly logDir: string
  readonly port: number
  readonly durable: boolean
  readonly settings: Record<string, string>
  readonly ha: HaConfigInput
  /** Every node's port by member name, this one's included. */
  readonly peers: Readonly<Record<string, number>>
  readonly placement: Placement
  /** Database, migrations and seed: run on the leader by the node that initialized the cluster, and by the leader after a restart. */
  readonly bootstrap: (url: string, fresh: boolean) => Promise<void>
  /** How long a start waits for the agent and then for a writable leader (ms). */
  readonly startTimeoutMs?: number
}

const urlFor = (port: number, database = DATABASE): string => `postgres://postgres@127.0.0.1:${port}/${database}`

/**
 * One node of an HA cluster: its agent process, which bootstraps (initdb or clone), runs the fence
 * keeper and PostgreSQL, and takes part in the election. Ready once the agent is and the cluster has
 * a writable leader, so instances that depend on the nodes start against a usable database.
 */
export class HaNodeHandle implements LocalHandle {
  readonly #o: HaNodeHandleOptions
  #agent: ManagedProcess | undefined
  #keeperPid: number | undefined

  constructor (options: HaNodeHandleOptions) {
    this.#o = options
  }

  get process (): ManagedProcess | undefined { return this.#agent }

  /** The agent's, PostgreSQL's (from postmaster.pid) and the fence keeper's pids. */
  pids (): { agent?: number | undefined, postmaster?: number | undefined, keeper?: number | undefined } {
    let postmaster: number | undefined
    try {
      const pid = Number(readFileSync(join(this.#o.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0])
      if (Number.isInteger(pid) && pid > 0) postmaster = pid
    } catch {}
    return { agent: this.#agent?.pid, postmaster, keeper: this.#keeperPid }
  }

  async start (): Promise<string> {
    const o = this.#o
    const peers = Object.fromEntries(Object.entries(o.peers).map(([name, port]) => [name, { host: '127.0.0.1', port }]))
    const config: AgentProcessConfig = {
      name: o.name,
      cluster: o.cluster,
      etcdHosts: [...o.etcdHosts],
      ha: { ...o.ha },
      postgres: { name: o.name, dataDir: o.dataDir, logFile: join(o.logDir, `${o.name}-postgres.log`), port: o.port, durable: o.durable, settings: o.settings },
      peers,
    }
    const agent = this.#agent = new ManagedProcess({
      name: o.name, command: process.execPath, args: [AGENT_MAIN], env: { OUTGROW_HA_AGENT: JSON.stringify(config) }, logFile: join(o.logDir, `${o.name}.log`), ipc: true,
    })
    agent.start()
    if (agent.pid !== undefined) o.placement.emulation.place(o.placement.server, agent.pid, o.placement.cpus)
    const timeoutMs = o.startTimeoutMs ?? 180_000
    const ready = await agent.waitForReadyMessage(timeoutMs)
    this.#keeperPid = typeof ready.keeperPid === 'number' ? ready.keeperPid : undefined
    const leader = await this.#writableLeader(timeoutMs)
    const initialized = ready.bootstrap === 'initialized'
    if (initialized || leader === o.name) {
      const port = o.peers[leader] as number
      // Also when not initialized by this start: a first start that failed after initdb (CREATE
      // DATABASE can outlast a time-out on a server of a fraction of a core) left it to a restart.
      await createDatabase(port)
      await o.bootstrap(urlFor(port), initialized)
    }
    return urlFor(o.port)
  }

  /** Waits until one node accepts writes; its member name. */
  async #writableLeader (timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      if (this.#agent?.running !== true) throw new OutgrowError('OUTGROW_ENGINE_START_FAILED', `${this.#o.name} exited during start; last log lines:\n${this.#agent?.logTail(15) ?? ''}`)
      for (const [name, port] of Object.entries(this.#o.peers)) {
        if (await writable(port)) return name
      }
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
    throw new OutgrowError('OUTGROW_ENGINE_START_FAILED', `${this.#o.name}: no node of ${this.#o.cluster} accepted writes within ${Math.round(timeoutMs / 1000)} s; last log lines:\n${this.#agent?.logTail(15) ?? ''}`)
  }

  async stop (): Promise<void> {
    // The agent fences and stops its PostgreSQL and gives its leases up (another node takes over at once).
    await this.#agent?.stop('SIGTERM', 25_000)
  }
}

async function withClient<T> (url: string, work: (c: pg.Client) => Promise<T>, queryTimeoutMs = 2000): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000, query_timeout: queryTimeoutMs })
  client.on('error', () => {})
  await client.connect()
  try {
    return await work(client)
  } finally {
    await client.end().catch(() => {})
  }
}

async function writable (port: number): Promise<boolean> {
  try {
    return await withClient(urlFor(port, 'postgres'), async (c) => {
      const { rows } = await c.query<{ ok: boolean }>("SELECT NOT pg_is_in_recovery() AND current_setting('transaction_read_only') = 'off' AS ok")
      return rows[0]?.ok === true
    })
  } catch {
    return false
  }
}

async function createDatabase (port: number): Promise<void> {
  await withClient(urlFor(port, 'postgres'), async (c) => {
    const exists = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE])
    if (exists.rowCount === 0) await c.query(`CREATE DATABASE ${DATABASE}`)
  }, 120_000) // CREATE DATABASE copies the template and checkpoints: seconds on a throttled server
}
