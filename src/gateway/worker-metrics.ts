import nodeCluster from 'node:cluster'
import client from 'prom-client'
import { OutgrowError } from '../errors/index.js'

/**
 * One scrape, the whole gateway. With several processes, the worker a scrape lands on asks the
 * primary, which gathers every worker's registries with prom-client's AggregatorRegistry (each
 * family merged by its `aggregator`: sum unless the family says otherwise) and sends the text back.
 */
const REQUEST = 'outgrow:gateway-metrics-request'
const RESPONSE = 'outgrow:gateway-metrics-response'
/** Longer than the aggregator's own 5 s limit, so its error (naming the cause) arrives first. */
const ANSWER_TIMEOUT_MS = 6000

interface ScrapeMessage { readonly type?: string, readonly id?: number, readonly text?: string, readonly error?: string }

/** In the primary, before the first fork. */
export function aggregateWorkerMetrics (): void {
  const aggregator = new client.AggregatorRegistry()
  nodeCluster.on('message', (worker, message: ScrapeMessage) => {
    if (message?.type !== REQUEST) return
    const reply = (body: Omit<ScrapeMessage, 'type' | 'id'>): void => {
      if (worker.isConnected()) worker.send({ type: RESPONSE, id: message.id, ...body })
    }
    aggregator.clusterMetrics().then((text) => { reply({ text }) }, (err: unknown) => { reply({ error: err instanceof Error ? err.message : String(err) }) })
  })
}

const waiting = new Map<number, { resolve: (text: string) => void, reject: (err: Error) => void, timer: NodeJS.Timeout }>()
let nextId = 0
let reporting = false

function onAnswer (message: ScrapeMessage): void {
  if (message?.type !== RESPONSE || message.id === undefined) return
  const entry = waiting.get(message.id)
  if (entry === undefined) return
  waiting.delete(message.id)
  clearTimeout(entry.timer)
  if (message.text !== undefined) entry.resolve(message.text)
  else entry.reject(new OutgrowError('OUTGROW_METRICS_UNAVAILABLE', `gateway processes did not all answer: ${message.error ?? 'no answer'}`))
}

/** In a worker: what it answers when the primary gathers metrics; scrapes on this worker go to the primary. */
export function reportMetricsToPrimary (registries: client.Registry[]): void {
  // Constructing one installs prom-client's listener for the primary's requests in this worker.
  if (!reporting) new client.AggregatorRegistry()
  client.AggregatorRegistry.setRegistries(registries)
  if (!reporting) process.on('message', onAnswer)
  reporting = true
}

/** True in a worker that reports to its primary: a scrape must be answered with the whole gateway. */
export function scrapesAggregated (): boolean {
  return reporting
}

/** The metrics of every process of this gateway, as Prometheus text. */
export async function scrapeAllProcesses (): Promise<string> {
  const id = nextId++
  return await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      waiting.delete(id)
      reject(new OutgrowError('OUTGROW_METRICS_UNAVAILABLE', `the gateway's primary process did not answer within ${ANSWER_TIMEOUT_MS} ms`))
    }, ANSWER_TIMEOUT_MS)
    waiting.set(id, { resolve, reject, timer })
    process.send?.({ type: REQUEST, id })
  })
}
