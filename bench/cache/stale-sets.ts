import type { BenchCache } from './contenders.js'
import type { Item, ItemsDb } from './database.js'
import type { Instances } from './instances.js'

/**
 * The load → update → delete → set race. For each key one instance loads it through the cache
 * (reads the database, then takes a random while to return, as a slow request would) while
 * another updates the row and then deletes the key, after a random delay. When the delete lands
 * between the read and the cache's fill, a cache without leases stores the old value after the
 * write's invalidation: a stale entry that stays until its TTL ends.
 */
export interface InterleaveSpec {
  readonly reads: readonly string[]
  readonly writes: readonly string[]
  /** Each random delay is uniform in [0, maxDelayMs). */
  readonly maxDelayMs: number
}

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/** Instance side: its share of loads and writes of one batch, all at once. */
export async function interleave (cache: BenchCache, db: ItemsDb, spec: InterleaveSpec): Promise<{ errors: number }> {
  const delay = (): number => Math.random() * spec.maxDelayMs
  const read = async (key: string): Promise<void> => {
    await sleep(delay())
    await cache.wrap<Item>(key, 60, async () => {
      const item = await db.read(key)
      await sleep(delay())
      return item
    })
  }
  const write = async (key: string): Promise<void> => {
    await sleep(delay())
    await db.bump(key)
    await cache.delete(key)
  }
  const settled = await Promise.allSettled([...spec.reads.map(read), ...spec.writes.map(write)])
  return { errors: settled.filter((s) => s.status === 'rejected').length }
}

/** Instance side: the version each key's cached value has here (L1, else Redis), null when not cached. */
export async function checkKeys (cache: BenchCache, keys: readonly string[]): Promise<Array<number | null>> {
  return await Promise.all(keys.map(async (key) => (await cache.get<Item>(key))?.version ?? null))
}

export interface StaleSetsResult {
  readonly interleavings: number
  /** Keys whose cached value, on at least one instance, is older than the database's once the writes settled. */
  readonly staleKeys: number
  /** Stale (instance, key) views: an entry stale in Redis is counted once per instance that reads it. */
  readonly staleViews: number
  /** Keys cached with the database's current version on every instance that has them. */
  readonly freshKeys: number
  /** Keys no instance has cached (the fill was refused or the delete came after it). */
  readonly uncachedKeys: number
  readonly errors: number
}

/** Parent side: `interleavings` keys in batches; each key read on one instance and written on the next. */
export async function runStaleSets (instances: Instances, db: ItemsDb, options: { interleavings: number, batch: number, maxDelayMs: number, settleMs: number, label: string }): Promise<StaleSetsResult> {
  let staleKeys = 0
  let staleViews = 0
  let freshKeys = 0
  let uncachedKeys = 0
  let errors = 0
  for (let done = 0; done < options.interleavings; done += options.batch) {
    const keys = Array.from({ length: Math.min(options.batch, options.interleavings - done) }, (_, i) => `race:${options.label}:${done + i}:${Date.now()}`)
    await db.insert(keys)
    const n = instances.count
    const answers = await Promise.all(Array.from({ length: n }, async (_, index) => await instances.one<{ errors: number }>(index, 'interleave', {
      reads: keys.filter((_, i) => i % n === index),
      writes: keys.filter((_, i) => (i + 1) % n === index),
      maxDelayMs: options.maxDelayMs,
    } satisfies InterleaveSpec)))
    errors += answers.reduce((sum, a) => sum + a.errors, 0)
    // The writes have settled: every delete returned; the bus messages get this long to arrive.
    await new Promise((resolve) => setTimeout(resolve, options.settleMs))
    const truth = await db.versions(keys)
    const views = await instances.all<Array<number | null>>('check', keys)
    keys.forEach((key, i) => {
      const seen = views.map((v) => v[i] ?? null).filter((v): v is number => v !== null)
      const stale = seen.filter((version) => version !== truth.get(key)).length
      staleViews += stale
      if (stale > 0) staleKeys++
      else if (seen.length > 0) freshKeys++
      else uncachedKeys++
    })
  }
  return { interleavings: options.interleavings, staleKeys, staleViews, freshKeys, uncachedKeys, errors }
}
