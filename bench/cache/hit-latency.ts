import * as hdr from 'hdr-histogram-js'
import { Redis } from 'ioredis'
import { seededRandom, Zipf } from '../../src/lab/zipf.js'
import type { BenchCache, CacheShape } from './contenders.js'
import { itemOf, type Item } from './database.js'
import { Instances } from './instances.js'

export type HitOperation = 'wrap' | 'get'

export interface HitSpec {
  readonly op: HitOperation
  readonly keys: number
  readonly zipfS: number
  readonly concurrency: number
  readonly warmupOps: number
  readonly ops: number
}

export interface HitResult {
  readonly p50Us: number
  readonly p90Us: number
  readonly p99Us: number
  readonly p999Us: number
  readonly maxUs: number
  readonly opsPerSecond: number
  /** Look-ups that missed (loader runs, or undefined from get) in the measured part: should be 0. */
  readonly misses: number
}

/**
 * Instance side: every key cached (about 1 KB each, like a product's JSON), then `concurrency`
 * callers in a closed loop look up Zipf-chosen keys; each look-up's time goes into a histogram
 * (µs). A warm-up of the same loop comes first, unrecorded (JIT, the L1 filled by reads).
 */
export async function measureHits (cache: BenchCache, spec: HitSpec): Promise<HitResult> {
  const keyOf = (rank: number): string => `item:${rank}`
  let misses = 0
  const load = async (key: string): Promise<Item> => {
    misses++
    return itemOf(key, 0)
  }
  for (let start = 1; start <= spec.keys; start += 100) {
    await Promise.all(Array.from({ length: Math.min(100, spec.keys - start + 1) }, async (_, i) => {
      const key = keyOf(start + i)
      await cache.wrap(key, 3600, async () => await load(key))
    }))
  }
  const zipf = new Zipf(spec.keys, spec.zipfS, seededRandom(7))
  const lookUp = spec.op === 'wrap'
    ? async (key: string) => await cache.wrap(key, 3600, async () => await load(key))
    : async (key: string) => { if (await cache.get(key) === undefined) misses++ }
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 })
  const run = async (ops: number, record: boolean): Promise<number> => {
    let left = ops
    const started = process.hrtime.bigint()
    await Promise.all(Array.from({ length: spec.concurrency }, async () => {
      while (left > 0) {
        left--
        const key = keyOf(zipf.next())
        const t0 = process.hrtime.bigint()
        await lookUp(key)
        if (record) histogram.recordValue(Math.max(1, Number((process.hrtime.bigint() - t0) / 1000n)))
      }
    }))
    return Number(process.hrtime.bigint() - started) / 1e9
  }
  await run(spec.warmupOps, false)
  misses = 0
  const seconds = await run(spec.ops, true)
  const result = {
    p50Us: histogram.getValueAtPercentile(50),
    p90Us: histogram.getValueAtPercentile(90),
    p99Us: histogram.getValueAtPercentile(99),
    p999Us: histogram.getValueAtPercentile(99.9),
    maxUs: histogram.maxValue,
    opsPerSecond: Math.round(spec.ops / seconds),
    misses,
  }
  histogram.destroy()
  return result
}

export interface HitContender {
  readonly name: string
  readonly shape: Omit<CacheShape, 'redisUrl' | 'prefix'>
}

export const HIT_CONTENDERS: readonly HitContender[] = [
  { name: 'Outgrow L1+L2', shape: { system: 'outgrow', l1: true } },
  { name: 'bentocache L1+L2+bus', shape: { system: 'bentocache', l1: true } },
  // Its L1 without serialisation, like Outgrow's: how much of the difference is JSON parsing.
  { name: 'bentocache L1 (serialize: false)+L2+bus', shape: { system: 'bentocache', l1: true, l1Serialize: false } },
  { name: 'Outgrow Redis only', shape: { system: 'outgrow', l1: false } },
  { name: 'bentocache L2 only', shape: { system: 'bentocache', l1: false } },
]

export interface HitMeasurement {
  readonly round: number
  readonly contender: string
  readonly op: HitOperation
  readonly result: HitResult
}

/**
 * Parent side: every contender in a fresh process of its own, one after the other, the order
 * rotated every round so the machine's drift falls on all of them; Redis emptied before each.
 */
export async function runHitLatency (redisUrl: string, postgresUrl: string, options: { rounds: number, ops: readonly HitOperation[], spec: Omit<HitSpec, 'op'>, log: (line: string) => void }): Promise<HitMeasurement[]> {
  const measurements: HitMeasurement[] = []
  const redis = new Redis(redisUrl)
  try {
    for (let round = 0; round < options.rounds; round++) {
      const order = HIT_CONTENDERS.map((_, i) => HIT_CONTENDERS[(i + round) % HIT_CONTENDERS.length] as HitContender)
      for (const op of options.ops) {
        for (const contender of order) {
          await redis.flushdb()
          const instances = await Instances.start(1, { shape: { ...contender.shape, redisUrl, prefix: 'lat:' }, postgresUrl, dbConnections: 1 })
          try {
            const [result] = await instances.all<HitResult>('hits', { ...options.spec, op } satisfies HitSpec)
            if (result === undefined) throw new Error('no answer from the instance')
            measurements.push({ round, contender: contender.name, op, result })
            options.log(`hits round ${round + 1} ${op} ${contender.name}: p50 ${result.p50Us} µs, p99 ${result.p99Us} µs, ${result.opsPerSecond} ops/s, misses ${result.misses}`)
          } finally {
            await instances.stop()
          }
        }
      }
    }
  } finally {
    redis.disconnect()
  }
  return measurements
}
