import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { OutgrowError } from '../../errors/index.js'
import { ManagedProcess } from '../managed-process.js'
import { redisSentinelBinary } from './binaries.js'
import { assertServedBy, withRedisProbe } from './redis.js'
import { waitUntil } from './wait.js'

/** What the Sentinels watch: one master group and how quickly they give up on its master. */
export interface SentinelMonitor {
  /** The master group's name (`sentinel monitor <name> …`); clients ask for it by this name. */
  readonly masterName: string
  /** The master's port on loopback when the group is first monitored. */
  readonly masterPort: number
  /** Sentinels that must agree the master is down before a failover (ODOWN). */
  readonly quorum: number
  /** How long the master may not answer before a Sentinel thinks it down (SDOWN). */
  readonly downAfterMs: number
  readonly failoverTimeoutMs: number
}

export interface RedisSentinelOptions {
  readonly name: string
  readonly dataDir: string
  readonly logFile: string
  readonly port: number
  readonly monitor: SentinelMonitor
}

/** The config file a Sentinel keeps in its data dir (it rewrites it as it learns). */
export const sentinelConfigFile = (dataDir: string): string => join(dataDir, 'sentinel.conf')

/**
 * One Redis Sentinel on a loopback port. Its config file is written the first time only: Sentinel
 * rewrites it with what it learns (the current master after a failover, the replicas, the other
 * Sentinels, the epoch), so a restarted Sentinel goes on where it stopped. The port is given on
 * the command line, so a Sentinel moved to another port keeps its state; quorum and timings are
 * set again (`SENTINEL SET`) after every start, so a changed spec takes effect.
 */
export class RedisSentinel {
  readonly options: RedisSentinelOptions
  #process: ManagedProcess | undefined

  constructor (options: RedisSentinelOptions) {
    this.options = options
  }

  get process (): ManagedProcess | undefined { return this.#process }
  get url (): string { return `redis://127.0.0.1:${this.options.port}` }

  async start (place: (pid: number) => void = () => {}, timeoutMs = 15_000): Promise<void> {
    const { dataDir, monitor: m } = this.options
    await mkdir(dataDir, { recursive: true })
    const file = sentinelConfigFile(dataDir)
    if (!existsSync(file)) {
      await writeFile(file, [
        'bind 127.0.0.1',
        'protected-mode no',
        'daemonize no',
        `dir ${dataDir}`,
        `sentinel monitor ${m.masterName} 127.0.0.1 ${m.masterPort} ${m.quorum}`,
        `sentinel down-after-milliseconds ${m.masterName} ${m.downAfterMs}`,
        `sentinel failover-timeout ${m.masterName} ${m.failoverTimeoutMs}`,
        `sentinel parallel-syncs ${m.masterName} 1`,
        '',
      ].join('\n'))
    }
    const process = this.#process = new ManagedProcess({
      name: this.options.name,
      command: redisSentinelBinary(),
      args: [file, '--port', String(this.options.port)],
      logFile: this.options.logFile,
    })
    process.start()
    if (process.pid !== undefined) place(process.pid)
    try {
      await waitUntil(async () => {
        await withRedisProbe(this.url, async (client) => {
          await assertServedBy(client, process.pid)
          await client.call('SENTINEL', 'get-master-addr-by-name', m.masterName)
        })
      }, timeoutMs, () => process.running)
      // The file keeps the settings of the first start; the spec's current ones apply from now on.
      await withRedisProbe(this.url, async (client) => await client.call('SENTINEL', 'SET', m.masterName, 'quorum', String(m.quorum), 'down-after-milliseconds', String(m.downAfterMs), 'failover-timeout', String(m.failoverTimeoutMs)))
    } catch {
      throw new OutgrowError('OUTGROW_ENGINE_START_FAILED', `${this.options.name} did not start; last log lines:\n${process.logTail(15)}`)
    }
  }

  async stop (): Promise<void> {
    await this.#process?.stop('SIGTERM', 10_000)
  }
}
