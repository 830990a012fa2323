import { mkdir } from 'node:fs/promises'
import { connect } from '@nats-io/transport-node'
import { OutgrowError } from '../../errors/index.js'
import { ManagedProcess } from '../managed-process.js'
import { natsServerBinary } from './binaries.js'
import { waitUntil } from './wait.js'

export interface NatsOptions {
  readonly name: string
  /** JetStream's store directory. */
  readonly dataDir: string
  readonly logFile: string
  readonly port: number
}

/** A NATS server of our own with JetStream (`nats-server -js`) on a loopback port. */
export class NatsServer {
  readonly options: NatsOptions
  readonly #process: ManagedProcess

  constructor (options: NatsOptions) {
    this.options = options
    this.#process = new ManagedProcess({
      name: options.name,
      command: natsServerBinary(),
      args: ['-js', '-a', '127.0.0.1', '-p', String(options.port), '-sd', options.dataDir, '-n', options.name],
      logFile: options.logFile,
    })
  }

  get process (): ManagedProcess { return this.#process }

  get url (): string { return `nats://127.0.0.1:${this.options.port}` }

  async start (place: (pid: number) => void = () => {}, timeoutMs = 15_000): Promise<void> {
    await mkdir(this.options.dataDir, { recursive: true })
    if (this.#process.running) throw new Error(`${this.options.name} is already running`)
    this.#process.start()
    if (this.#process.pid !== undefined) place(this.#process.pid)
    try {
      // Ready once a client connects and JetStream answers.
      await waitUntil(async () => {
        const nc = await connect({ servers: this.url, reconnect: false, timeout: 1000 })
        try {
          await nc.request('$JS.API.INFO', undefined, { timeout: 1000 })
        } finally {
          await nc.close()
        }
      }, timeoutMs, () => this.#process.running)
    } catch {
      throw new OutgrowError('OUTGROW_ENGINE_START_FAILED', `${this.options.name} did not start; last log lines:\n${this.#process.logTail(15)}`)
    }
  }

  async stop (): Promise<void> {
    await this.#process.stop('SIGTERM', 10_000)
  }
}
