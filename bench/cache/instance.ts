/**
 * One application instance of the cache benchmark, a child process started by instances.ts: its
 * own cache (Outgrow's or bentocache) and database pool, running the tasks it is sent over IPC.
 * It exits when told to, or when its parent goes away.
 */
import { openCache } from './contenders.js'
import { ItemsDb } from './database.js'
import { measureHits, type HitSpec } from './hit-latency.js'
import type { InstanceConfig } from './instances.js'
import { fireMisses, type StampedeSpec } from './stampede.js'
import { checkKeys, interleave, type InterleaveSpec } from './stale-sets.js'

const config = JSON.parse(process.argv[2] ?? '{}') as InstanceConfig
const cache = await openCache(config.shape)
const db = new ItemsDb(config.postgresUrl, config.dbConnections)

const shutdown = async (): Promise<void> => {
  await cache.close().catch(() => {})
  await db.close().catch(() => {})
  process.exit(0)
}

const tasks: Record<string, (args: never) => Promise<unknown>> = {
  ready: async () => true,
  stampede: async (spec: StampedeSpec) => await fireMisses(cache, db, spec),
  interleave: async (spec: InterleaveSpec) => await interleave(cache, db, spec),
  check: async (keys: string[]) => await checkKeys(cache, keys),
  hits: async (spec: HitSpec) => await measureHits(cache, spec),
}

process.on('disconnect', () => { void shutdown() })
process.on('message', (message: { id: number, task: string, args: never }) => {
  if (message.task === 'exit') {
    void shutdown()
    return
  }
  const task = tasks[message.task]
  const running = task === undefined ? Promise.reject(new Error(`unknown task ${message.task}`)) : task(message.args)
  running.then(
    (result) => { process.send?.({ id: message.id, result }) },
    (err: unknown) => { process.send?.({ id: message.id, error: err instanceof Error ? err.stack ?? err.message : String(err) }) },
  )
})
