import type { Registry } from 'prom-client'
import { OutgrowError } from '../errors/index.js'

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/

/**
 * The metric families a scrape asks for with `name[]=` (repeatable), the selection Prometheus'
 * Go and Python clients accept; undefined when it names none, which means every family.
 */
export function requestedMetricNames (query: unknown): string[] | undefined {
  if (query === null || typeof query !== 'object') return undefined
  const raw = (query as Record<string, unknown>)['name[]']
  if (raw === undefined) return undefined
  const names = Array.isArray(raw) ? raw : [raw]
  for (const name of names) {
    if (typeof name !== 'string' || !METRIC_NAME.test(name)) {
      throw new OutgrowError('OUTGROW_BAD_REQUEST', `name[] must be a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*), got ${JSON.stringify(name)}`, { field: 'name[]' })
    }
  }
  return [...new Set(names as string[])]
}

/**
 * Prometheus text of the named families only. Only their values are collected: a reader that
 * wants two counters every second (the lab's timeline, the autoscaler) does not pay for the whole
 * registry, whose collection (process metrics from /proc, the job queues' Redis reads) costs a
 * quarter-core server milliseconds it would otherwise spend on requests. Names the registry does
 * not hold are left out, as an absent family is in a full scrape.
 */
export async function selectedMetricsText (registry: Registry, names: readonly string[]): Promise<string> {
  const held = names.filter((name) => registry.getSingleMetric(name) !== undefined)
  const texts = await Promise.all(held.map(async (name) => await registry.getSingleMetricAsString(name)))
  return texts.length === 0 ? '' : texts.join('\n\n') + '\n'
}
