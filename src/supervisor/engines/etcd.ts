import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { OutgrowError } from '../../errors/index.js'
import { ManagedProcess } from '../managed-process.js'
import { etcdBinary } from './binaries.js'
import { waitUntil } from './wait.js'

/** One member of an etcd cluster as every member's `--initial-cluster` names it. */
export interface EtcdPeer {
  readonly name: string
  readonly clientPort: number
  readonly peerPort: number
}

export interface EtcdOptions {
  /** This member's name; `cluster` lists it with its ports. */
  readonly name: string
  readonly dataDir: string
  readonly logFile: string
  /** Every member of the cluster, this one included. */
  readonly cluster: readonly EtcdPeer[]
  /**
   * Told apart from any other cluster at bootstrap: members of two stacks that happen to reuse
   * each other's ports never join up.
   */
  readonly clusterToken: string
  readonly heartbeatMs?: number
  readonly electionTimeoutMs?: number
}

/**
 * Raft timing on loopback. The round trip between members is ~0.1 ms, so the heartbeat could be
 * far shorter; what bounds it here is that members share two cores with the whole stack, may run
 * under a CPU quota (the CFS throttles a process for tens of ms per 100 ms period), and fsync their
 * WAL on a shared disk. etcd's tuning guide asks for an election timeout of at least ten heartbeats
 * and well above such stalls, or followers start needless elections. With 100 ms / 1 s a dead
 * leader is replaced within 1–2 s, well inside a leader key's TTL, so the DCS itself stays
 * available through a member's loss. etcd raises lease TTLs below 1.5 election timeouts, rounded
 * up to whole seconds: with 1 s, the shortest lease is 2 s.
 */
export const ETCD_HEARTBEAT_MS = 100
export const ETCD_ELECTION_TIMEOUT_MS = 1000

const loopback = (port: number): string => `http://127.0.0.1:${port}`

/**
 * One etcd member of our own on loopback ports, run as the current user. A fresh data dir
 * bootstraps with `--initial-cluster-state new` (every member of a new cluster must be started
 * with the same `--initial-cluster`, and none is ready until a quorum runs); a data dir that holds
 * a WAL restarts as `existing` and rejoins its cluster.
 */
export class EtcdServer {
  readonly options: EtcdOptions
  readonly #self: EtcdPeer
  #process: ManagedProcess | undefined

  constructor (options: EtcdOptions) {
    const self = options.cluster.find((m) => m.name === options.name)
    if (self === undefined) throw new Error(`${options.name} is not in its own --initial-cluster`)
    this.options = options
    this.#self = self
  }

  /** Whether the member has been bootstrapped in dataDir (it then rejoins as `existing`). */
  static exists (dataDir: string): boolean {
    return existsSync(join(dataDir, 'member', 'wal'))
  }

  /** Undefined until the first start. */
  get process (): ManagedProcess | undefined { return this.#process }
  get url (): string { return loopback(this.#self.clientPort) }
  get peerUrl (): string { return loopback(this.#self.peerPort) }

  args (state: 'new' | 'existing'): string[] {
    const o = this.options
    return [
      '--name', o.name,
      '--data-dir', o.dataDir,
      '--listen-client-urls', this.url, '--advertise-client-urls', this.url,
      '--listen-peer-urls', this.peerUrl, '--initial-advertise-peer-urls', this.peerUrl,
      '--initial-cluster', o.cluster.map((m) => `${m.name}=${loopback(m.peerPort)}`).join(','),
      '--initial-cluster-token', o.clusterToken,
      '--initial-cluster-state', state,
      '--heartbeat-interval', String(o.heartbeatMs ?? ETCD_HEARTBEAT_MS),
      '--election-timeout', String(o.electionTimeoutMs ?? ETCD_ELECTION_TIMEOUT_MS),
      // Leader keys are rewritten every few seconds: keep an hour of history, not all of it.
      '--auto-compaction-mode', 'periodic', '--auto-compaction-retention', '1h',
      '--logger', 'zap', '--log-outputs', 'stderr',
    ]
  }

  /**
   * Starts the member and waits until `/health` says true. etcd reports healthy only once the
   * member sees a leader and a linearizable read goes through, which needs a quorum: a member of a
   * fresh cluster becomes ready when enough of the others run, so start them all at once.
   */
  async start (place: (pid: number) => void = () => {}, timeoutMs = 30_000): Promise<void> {
    await mkdir(this.options.dataDir, { recursive: true, mode: 0o700 })
    const state = EtcdServer.exists(this.options.dataDir) ? 'existing' : 'new'
    const proc = new ManagedProcess({ name: this.options.name, command: etcdBinary(), args: this.args(state), logFile: this.options.logFile })
    this.#process = proc
    proc.start()
    if (proc.pid !== undefined) place(proc.pid)
    try {
      await waitUntil(async () => {
        if (!await this.healthy()) throw new Error('not healthy yet')
      }, timeoutMs, () => proc.running)
    } catch {
      throw new OutgrowError('OUTGROW_ENGINE_START_FAILED', `${this.options.name} did not become healthy (${state} cluster; a member needs a quorum of ${Math.floor(this.options.cluster.length / 2) + 1} running); last log lines:\n${proc.logTail(15)}`)
    }
  }

  /** `/health` answers `{"health":"true"}`: a leader is known and a quorum read succeeds. */
  async healthy (timeoutMs = 1000): Promise<boolean> {
    try {
      const response = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(timeoutMs) })
      const body = await response.json() as { health?: string }
      return response.ok && body.health === 'true'
    } catch {
      return false
    }
  }

  /** SIGTERM: a leader hands leadership over before it exits. */
  async stop (): Promise<void> {
    await this.#process?.stop('SIGTERM', 10_000)
  }
}
