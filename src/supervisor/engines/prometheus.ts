import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { request } from 'undici'
import { OutgrowError } from '../../errors/index.js'
import { ManagedProcess } from '../managed-process.js'
import { prometheusBinary } from './binaries.js'
import { waitUntil } from './wait.js'

export interface PrometheusOptions {
  /** Holds `prometheus.yml` and the TSDB (`data/`). */
  readonly dir: string
  /** The file-based service discovery file it scrapes (src/control/scrape-targets.ts). */
  readonly targetsFile: string
  readonly logFile: string
  readonly port: number
  readonly scrapeIntervalSeconds?: number
}

/**
 * The configuration: one scrape job over the service discovery file; each target's own `job`
 * label (outgrow-app, outgrow-worker, outgrow-gateway) replaces the job name. JSON, which YAML reads.
 */
export function prometheusConfig (targetsFile: string, scrapeIntervalSeconds: number): string {
  const interval = `${scrapeIntervalSeconds}s`
  return `${JSON.stringify({
    global: { scrape_interval: interval, evaluation_interval: interval },
    scrape_configs: [{ job_name: 'outgrow', file_sd_configs: [{ files: [targetsFile], refresh_interval: interval }] }],
  }, null, 2)}\n`
}

/** A Prometheus of the stack's own on a loopback port, its data in the stack's data dir. */
export class PrometheusServer {
  readonly options: PrometheusOptions
  readonly #process: ManagedProcess

  constructor (options: PrometheusOptions) {
    this.options = options
    this.#process = new ManagedProcess({
      name: 'prometheus',
      command: prometheusBinary(),
      args: [
        `--config.file=${join(options.dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(options.dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${options.port}`,
        '--storage.tsdb.retention.time=7d',
      ],
      logFile: options.logFile,
    })
  }

  get process (): ManagedProcess { return this.#process }

  get url (): string { return `http://127.0.0.1:${this.options.port}` }

  async start (timeoutMs = 30_000): Promise<void> {
    await mkdir(join(this.options.dir, 'data'), { recursive: true })
    await writeFile(join(this.options.dir, 'prometheus.yml'), prometheusConfig(this.options.targetsFile, this.options.scrapeIntervalSeconds ?? 5))
    if (this.#process.running) throw new Error('prometheus is already running')
    this.#process.start()
    try {
      await waitUntil(async () => {
        const res = await request(`${this.url}/-/ready`)
        await res.body.dump()
        if (res.statusCode !== 200) throw new Error(`/-/ready answered ${res.statusCode}`)
      }, timeoutMs, () => this.#process.running)
    } catch {
      await this.#process.stop('SIGKILL', 2000)
      throw new OutgrowError('OUTGROW_ENGINE_START_FAILED', `prometheus did not start; last log lines:\n${this.#process.logTail(15)}`)
    }
  }

  async stop (): Promise<void> {
    await this.#process.stop('SIGTERM', 10_000)
  }
}
