import { mkdir } from 'node:fs/promises'
import { OutgrowError } from '../../errors/index.js'
import { createRedisClient } from '../../runtime/redis-client.js'
import { ManagedProcess } from '../managed-process.js'
import { redisServerBinary } from './binaries.js'
import { waitUntil } from './wait.js'

export interface RedisOptions {
  readonly name: string
  readonly dataDir: string
  readonly logFile: string
  readonly port: number
  /** Append-only file with fsync every second: queued jobs survive a Redis restart. */
  readonly persistent?: boolean
}

/** A Redis server of our own on a loopback port. */
export class RedisServer {
  readonly options: RedisOptions
  readonly process: ManagedProcess

  constructor (options: RedisOptions) {
    this.options = options
    this.process = new ManagedProcess({
      name: options.name,
      command: redisServerBinary(),
      args: [
        '--port', String(options.port), '--bind', '127.0.0.1', '--dir', options.dataDir, '--save', '',
        '--appendonly', options.persistent === false ? 'no' : 'yes', '--appendfsync', 'everysec',
        '--maxmemory-policy', 'noeviction', '--daemonize', 'no', '--protected-mode', 'yes',
      ],
      logFile: options.logFile,
    })
  }

  get url (): string { return `redis://127.0.0.1:${this.options.port}` }

  async start (place: (pid: number) => void = () => {}, timeoutMs = 15_000): Promise<void> {
    await mkdir(this.options.dataDir, { recursive: true })
    this.process.start()
    if (this.process.pid !== undefined) place(this.process.pid)
    try {
      await waitUntil(async () => {
        const client = createRedisClient(this.url, { purpose: 'probe' })
        try {
          await client.connect()
          await client.ping()
        } finally {
          client.disconnect()
        }
      }, timeoutMs, () => this.process.running)
    } catch {
      throw new OutgrowError('OUTGROW_ENGINE_START_FAILED', `${this.options.name} did not start; last log lines:\n${this.process.logTail(15)}`)
    }
  }

  async stop (): Promise<void> {
    await this.process.stop('SIGTERM', 10_000)
  }
}
