import { mkdir, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { ObservedUnit } from './observed.js'

/** One group of Prometheus' file-based service discovery (`file_sd_configs`). */
export interface ScrapeTargetGroup {
  readonly targets: readonly string[]
  readonly labels: Readonly<Record<string, string>>
}

/** Where each role serves Prometheus text: the gateway proxies every other path, so its own are under /__outgrow/. */
const METRICS_PATH: Partial<Record<ObservedUnit['kind'], string>> = { app: '/metrics', worker: '/metrics', gateway: '/__outgrow/metrics' }

export interface StackLabels {
  /** The stack's name (the directory of its config). */
  readonly stack: string
  readonly level: number | undefined
}

/**
 * Every process that serves metrics and is ready, one group each so each keeps its own labels:
 * `job` by role, `process`, `server`, `level`, `stack`, and `__metrics_path__` (Prometheus scrapes
 * that path instead of the job's). Sorted by process name, so the same stack gives the same file.
 */
export function scrapeTargets (observed: readonly ObservedUnit[], stack: StackLabels): ScrapeTargetGroup[] {
  return observed
    .filter((o) => o.state === 'ready' && o.address !== undefined && METRICS_PATH[o.kind] !== undefined)
    .map((o) => ({
      targets: [new URL(o.address as string).host],
      labels: {
        job: `outgrow-${o.kind}`,
        process: o.name,
        server: o.server,
        level: stack.level === undefined ? 'custom' : String(stack.level),
        stack: stack.stack,
        __metrics_path__: METRICS_PATH[o.kind] as string,
      },
    }))
    .sort((a, b) => a.labels.process.localeCompare(b.labels.process, 'en', { numeric: true }))
}

/** The file, relative to the data dir. */
export const TARGETS_FILE = join('prometheus', 'targets.json')

/**
 * Keeps `<dataDir>/prometheus/targets.json` equal to the running stack's targets. Written to a
 * temporary file and renamed over, so Prometheus, which watches the file, never reads half of
 * it; written only when the content changes, in order.
 */
export class ScrapeTargetsFile {
  readonly path: string
  readonly #labels: StackLabels
  #written: string | undefined
  #chain: Promise<void> = Promise.resolve()

  constructor (dataDir: string, labels: StackLabels) {
    this.path = join(dataDir, TARGETS_FILE)
    this.#labels = labels
  }

  /** Brings the file up to date with what runs; resolves when written (errors are the caller's to log). */
  async update (observed: readonly ObservedUnit[]): Promise<void> {
    const text = `${JSON.stringify(scrapeTargets(observed, this.#labels), null, 2)}\n`
    const next = this.#chain.then(async () => {
      if (text === this.#written) return
      await mkdir(join(this.path, '..'), { recursive: true })
      const temporary = `${this.path}.${process.pid}.tmp`
      await writeFile(temporary, text)
      await rename(temporary, this.path)
      this.#written = text
    })
    this.#chain = next.catch(() => {})
    await next
  }
}
