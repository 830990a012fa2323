import type { BenchCache } from './contenders.js'
import type { ItemsDb } from './database.js'
import type { Instances } from './instances.js'

/** What one instance saw when its misses fired. */
export interface StampedeShot {
  /** Loader runs in this process (each a counted database query). */
  readonly loads: number
  readonly errors: number
  /** Callers that got the loaded value's version. */
  readonly served: number
  readonly ms: number
}

export interface StampedeRound {
  readonly key: string
  /** Loader runs counted by the database (`loads` rows for the key). */
  readonly databaseQueries: number
  readonly perInstance: readonly StampedeShot[]
}

export interface StampedeSpec {
  readonly key: string
  readonly concurrency: number
  /** How long the loader's query takes (pg_sleep inside it). */
  readonly holdMs: number
  /** Epoch ms at which every instance fires, so the misses of all instances overlap. */
  readonly fireAt: number
}

/** Instance side: `concurrency` concurrent wraps of one missing key, all started at `fireAt`. */
export async function fireMisses (cache: BenchCache, db: ItemsDb, spec: StampedeSpec): Promise<StampedeShot> {
  let loads = 0
  const load = async (): Promise<{ version: number }> => {
    loads++
    return await db.load(spec.key, spec.holdMs)
  }
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, spec.fireAt - Date.now())))
  const started = performance.now()
  const settled = await Promise.allSettled(Array.from({ length: spec.concurrency }, async () => await cache.wrap(spec.key, 60, load)))
  const ms = performance.now() - started
  const served = settled.filter((s) => s.status === 'fulfilled' && s.value.version === 0).length
  return { loads, errors: settled.filter((s) => s.status === 'rejected').length, served, ms: Math.round(ms * 10) / 10 }
}

/** Parent side: `rounds` fresh hot keys, each missed by every instance at once; the database counts the loads. */
export async function runStampede (instances: Instances, db: ItemsDb, options: { rounds: number, concurrency: number, holdMs: number, label: string }): Promise<StampedeRound[]> {
  const rounds: StampedeRound[] = []
  for (let r = 0; r < options.rounds; r++) {
    const key = `hot:${options.label}:${r}:${Date.now()}`
    await db.insert([key])
    const spec: StampedeSpec = { key, concurrency: options.concurrency, holdMs: options.holdMs, fireAt: Date.now() + 300 }
    const perInstance = await instances.all<StampedeShot>('stampede', spec)
    rounds.push({ key, databaseQueries: await db.loadsOf([key]), perInstance })
  }
  return rounds
}
