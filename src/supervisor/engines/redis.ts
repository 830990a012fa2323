import { mkdir } from 'node:fs/promises'
import { OutgrowError } from '../../errors/index.js'
import { createRedisClient } from '../../runtime/redis-client.js'
import { ManagedProcess } from '../managed-process.js'
import { redisServerBinary } from './binaries.js'
import { waitUntil } from './wait.js'

/** One short-lived probe connection to a Redis or Sentinel at url: connect, run, disconnect. */
export async function withRedisProbe<T> (url: string, run: (client: ReturnType<typeof createRedisClient>) => Promise<T>): Promise<T> {
  const client = createRedisClient(url, { purpose: 'probe' })
  try {
    await client.connect()
    return await run(client)
  } finally {
    client.disconnect()
  }
}

/**
 * Fails unless the server that answered is the process `pid`: a port picked free a moment before
 * can be bound by another server first, and its answer must not pass for this one's start.
 */
export async function assertServedBy (client: ReturnType<typeof createRedisClient>, pid: number | undefined): Promise<void> {
  const info = await client.info('server')
  const served = /^process_id:(\d+)/m.exec(info)?.[1]
  if (pid !== undefined && served !== String(pid)) throw new Error(`another server (pid ${served ?? '?'}) answers on this port`)
}

export interface RedisOptions {
  readonly name: string
  readonly dataDir: string
  readonly logFile: string
  readonly port: number
  /** Append-only file with fsync every second: queued jobs survive a Redis restart. */
  readonly persistent?: boolean
}

/**
 * A Redis server of our own on a loopback port. Each start may make it a master or a replica of
 * another server on this machine (`--replicaof`); Sentinel may change that while it runs.
 */
export class RedisServer {
  readonly options: RedisOptions
  #process: ManagedProcess

  constructor (options: RedisOptions) {
    this.options = options
    this.#process = this.#processFor(undefined)
  }

  get process (): ManagedProcess { return this.#process }

  #processFor (replicaOfPort: number | undefined): ManagedProcess {
    const options = this.options
    return new ManagedProcess({
      name: options.name,
      command: redisServerBinary(),
      args: [
        '--port', String(options.port), '--bind', '127.0.0.1', '--dir', options.dataDir, '--save', '',
        '--appendonly', options.persistent === false ? 'no' : 'yes', '--appendfsync', 'everysec',
        '--maxmemory-policy', 'noeviction', '--daemonize', 'no', '--protected-mode', 'yes',
        // A replica that (re)joins is synced at once, not after Redis's default 5 s wait for others.
        '--repl-diskless-sync-delay', '0',
        // A replica that has just synced writes its first AOF in the background and declines a
        // SIGTERM meanwhile ("Writing initial AOF, can't exit"), acting only on a later signal.
        // stop() sends SIGTERM again until it exits; a dead supervisor, which can send nothing
        // more, has the kernel send SIGINT (pdeathsig), on which it exits anyway.
        '--shutdown-on-sigint', 'force',
        ...(replicaOfPort === undefined ? [] : ['--replicaof', '127.0.0.1', String(replicaOfPort)]),
      ],
      logFile: options.logFile,
      parentDeathSignal: 'SIGINT',
    })
  }

  get url (): string { return `redis://127.0.0.1:${this.options.port}` }

  /** Starts it, as a replica of the server on replicaOfPort when given, else as a master. */
  async start (place: (pid: number) => void = () => {}, timeoutMs = 15_000, replicaOfPort?: number): Promise<void> {
    await mkdir(this.options.dataDir, { recursive: true })
    if (this.#process.running) throw new Error(`${this.options.name} is already running`)
    this.#process = this.#processFor(replicaOfPort)
    const process = this.#process
    process.start()
    if (process.pid !== undefined) place(process.pid)
    try {
      await waitUntil(async () => { await withRedisProbe(this.url, async (client) => { await assertServedBy(client, process.pid); await client.ping() }) }, timeoutMs, () => process.running)
    } catch {
      throw new OutgrowError('OUTGROW_ENGINE_START_FAILED', `${this.options.name} did not start; last log lines:\n${process.logTail(15)}`)
    }
  }

  async stop (): Promise<void> {
    await this.#process.stop('SIGTERM', 10_000, 1_000)
  }
}
