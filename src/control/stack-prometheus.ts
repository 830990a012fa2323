import { join } from 'node:path'
import { PrometheusServer } from '../supervisor/engines/prometheus.js'
import { freePort } from '../supervisor/free-port.js'
import type { EventLog } from './event-log.js'

export interface StackPrometheusOptions {
  readonly dataDir: string
  /** The service discovery file the stack keeps (scrape-targets.ts). */
  readonly targetsFile: string
  readonly events: EventLog
  readonly log: (line: string) => void
  readonly scrapeIntervalSeconds?: number | undefined
}

/**
 * `outgrow up --prometheus`: a Prometheus beside the stack, scraping what the service discovery
 * file names, its TSDB in `<data dir>/prometheus/data`. It keeps its port for the stack's life and
 * is started again a second after it exits, like the stack's other processes.
 */
export class StackPrometheus {
  readonly #server: PrometheusServer
  readonly #options: StackPrometheusOptions
  #stopping = false
  #restart: NodeJS.Timeout | undefined

  private constructor (server: PrometheusServer, options: StackPrometheusOptions) {
    this.#server = server
    this.#options = options
  }

  static async start (options: StackPrometheusOptions): Promise<StackPrometheus> {
    const server = new PrometheusServer({
      dir: join(options.dataDir, 'prometheus'),
      targetsFile: options.targetsFile,
      logFile: join(options.dataDir, 'logs', 'prometheus.log'),
      port: await freePort(),
      scrapeIntervalSeconds: options.scrapeIntervalSeconds,
    })
    const running = new StackPrometheus(server, options)
    await server.start()
    server.process.on('exit', () => { running.#exited() })
    options.events.append({ actor: 'supervisor', action: 'start', target: 'prometheus', result: 'ok', detail: server.url })
    return running
  }

  get url (): string { return this.#server.url }

  #exited (): void {
    if (this.#stopping) return
    this.#options.events.append({ actor: 'supervisor', action: 'exited', target: 'prometheus', result: 'observed' })
    this.#options.log('prometheus exited; starting it again in 1 s')
    clearTimeout(this.#restart)
    this.#restart = setTimeout(() => {
      if (this.#stopping) return
      this.#server.start().then(() => {
        this.#options.events.append({ actor: 'supervisor', action: 'restart', target: 'prometheus', result: 'ok', detail: this.#server.url })
      }, (err: unknown) => {
        this.#options.events.append({ actor: 'supervisor', action: 'restart', target: 'prometheus', result: 'failed', detail: (err as Error).message.split('\n')[0] })
      })
    }, 1000)
  }

  async stop (): Promise<void> {
    this.#stopping = true
    clearTimeout(this.#restart)
    await this.#server.stop()
  }
}
