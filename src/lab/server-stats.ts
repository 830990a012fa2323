import { request } from 'undici'
import type { StackProcessInfo } from '../control/stack.js'
import { parsePrometheusText, selectingFamilies, sumSamples, type Sample } from './prometheus-text.js'

/** Counters read from every app and worker process of a stack. */
export interface ServerCounters {
  readonly dbPrimaryQueries: number
  readonly dbReplicaQueries: number
  readonly cacheHits: number
  readonly cacheMisses: number
  readonly jobsCompleted: number
  readonly requestsByInstance: Readonly<Record<string, number>>
}

export interface ServerRates {
  readonly primaryQueriesPerSecond: number
  readonly replicaQueriesPerSecond: number
  /** Hits / (hits + misses); null when the cache saw no look-ups. */
  readonly cacheHitRatio: number | null
  readonly jobsCompleted: number
  readonly requestsByInstance: Readonly<Record<string, number>>
}

/** One target's samples; empty when it did not answer (a measurement goes on without it). */
export async function scrapeSamples (url: string): Promise<Sample[]> {
  try {
    const response = await request(url, { headersTimeout: 5000, bodyTimeout: 5000 })
    return parsePrometheusText(await response.body.text())
  } catch {
    return []
  }
}

/** The families readCounters needs: a run reads them every few seconds, so it asks for these only. */
const COUNTER_FAMILIES = ['outgrow_db_queries_total', 'outgrow_cache_requests_total', 'outgrow_jobs_total', 'outgrow_http_request_duration_seconds']

export async function readCounters (processes: readonly StackProcessInfo[]): Promise<ServerCounters> {
  const targets = processes.filter((p) => (p.role === 'app' || p.role === 'worker') && p.metricsUrl !== undefined)
  const scraped = await Promise.all(targets.map(async (p) => ({ process: p, samples: await scrapeSamples(selectingFamilies(p.metricsUrl as string, COUNTER_FAMILIES)) })))
  let dbPrimaryQueries = 0
  let dbReplicaQueries = 0
  let cacheHits = 0
  let cacheMisses = 0
  let jobsCompleted = 0
  const requestsByInstance: Record<string, number> = {}
  for (const { process, samples } of scraped) {
    dbPrimaryQueries += sumSamples(samples, 'outgrow_db_queries_total', { target: 'primary' })
    dbReplicaQueries += sumSamples(samples, 'outgrow_db_queries_total', { target: 'replica' })
    cacheHits += sumSamples(samples, 'outgrow_cache_requests_total', { result: 'hit' })
    cacheMisses += sumSamples(samples, 'outgrow_cache_requests_total', { result: 'miss' })
    jobsCompleted += sumSamples(samples, 'outgrow_jobs_total', { outcome: 'completed' })
    if (process.role === 'app') requestsByInstance[process.name] = sumSamples(samples, 'outgrow_http_request_duration_seconds_count')
  }
  return { dbPrimaryQueries, dbReplicaQueries, cacheHits, cacheMisses, jobsCompleted, requestsByInstance }
}

export function ratesBetween (before: ServerCounters, after: ServerCounters, seconds: number): ServerRates {
  const hits = after.cacheHits - before.cacheHits
  const misses = after.cacheMisses - before.cacheMisses
  const requestsByInstance: Record<string, number> = {}
  for (const [name, count] of Object.entries(after.requestsByInstance)) requestsByInstance[name] = count - (before.requestsByInstance[name] ?? 0)
  return {
    primaryQueriesPerSecond: Math.round((after.dbPrimaryQueries - before.dbPrimaryQueries) / seconds),
    replicaQueriesPerSecond: Math.round((after.dbReplicaQueries - before.dbReplicaQueries) / seconds),
    cacheHitRatio: hits + misses === 0 ? null : Math.round((hits / (hits + misses)) * 1000) / 1000,
    jobsCompleted: after.jobsCompleted - before.jobsCompleted,
    requestsByInstance,
  }
}
