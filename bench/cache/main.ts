/**
 * The cache benchmark: Outgrow's cache against bentocache (the anchor) on the same Redis and
 * PostgreSQL, in the same run. Four parts, each optional:
 *
 *   stampede  4 instances (processes) × 1000 concurrent misses on one hot key: database queries
 *   stale     load / update / delete interleavings on 2 instances: stale entries once writes settle
 *   hits      hit latency (p50/p99) and throughput, rounds alternating the contenders
 *   shop      the shop's mix on a level-2 stack (no cache) and a level-3 stack (cache): database
 *             queries/s and hit ratio at the same offered rate
 *
 * Writes <out>.json (raw numbers; rewritten after each part) and <out>.md.
 *
 *   npm run bench:cache -- [--parts stampede,stale,hits,shop] [--keep] [--out docs/benchmarks/cache] [--render]
 */
import { readFile, writeFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { describeMachine } from '../../src/lab/machine.js'
import type { SystemName } from './contenders.js'
import { createSchema, ItemsDb } from './database.js'
import { startBenchEngines } from './engines.js'
import { runHitLatency, type HitOperation } from './hit-latency.js'
import { Instances } from './instances.js'
import { cacheMarkdown, type CacheRun } from './report.js'
import { runShopMix } from './shop-mix.js'
import { runStaleSets } from './stale-sets.js'
import { runStampede } from './stampede.js'
import { engineVersions } from './versions.js'

const PARTS = ['stampede', 'stale', 'hits', 'shop'] as const
type Part = typeof PARTS[number]

const { values } = parseArgs({
  options: {
    parts: { type: 'string', default: PARTS.join(',') },
    out: { type: 'string', default: 'docs/benchmarks/cache' },
    render: { type: 'boolean', default: false },
    // Keeps the parts not measured now from <out>.json (and says so in the report).
    keep: { type: 'boolean', default: false },
    'stampede-instances': { type: 'string', default: '4' },
    'stampede-misses': { type: 'string', default: '1000' },
    'stampede-rounds': { type: 'string', default: '5' },
    interleavings: { type: 'string', default: '10000' },
    'hit-rounds': { type: 'string', default: '3' },
    'hit-ops': { type: 'string', default: '40000' },
    'shop-rate': { type: 'string', default: '200' },
    'shop-duration': { type: 'string', default: '20' },
    'shop-warmup': { type: 'string', default: '10' },
  },
})
if (values.render) {
  await writeFile(`${values.out}.md`, cacheMarkdown(JSON.parse(await readFile(`${values.out}.json`, 'utf8')) as CacheRun))
  process.exit(0)
}
const parts = values.parts.split(',') as Part[]
for (const p of parts) if (!PARTS.includes(p)) throw new Error(`unknown part ${p} (${PARTS.join(', ')})`)
const log = (line: string): void => { process.stderr.write(`bench:cache: ${line}\n`) }
const SYSTEMS: readonly SystemName[] = ['outgrow', 'bentocache']

const run: CacheRun = {
  startedAt: new Date().toISOString(),
  finishedAt: '',
  command: `npm run bench:cache${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
  machine: describeMachine(),
  versions: {},
}
if (values.keep) {
  const previous = JSON.parse(await readFile(`${values.out}.json`, 'utf8')) as CacheRun
  const kept = PARTS.filter((p) => !parts.includes(p) && previous[p] !== undefined)
  for (const p of kept) Object.assign(run, { [p]: previous[p] })
  if (kept.length > 0) run.kept = { parts: kept, startedAt: previous.startedAt, finishedAt: previous.finishedAt, command: previous.command }
}
const save = async (): Promise<void> => {
  const finished = { ...run, finishedAt: new Date().toISOString() }
  await writeFile(`${values.out}.json`, `${JSON.stringify(finished, null, 2)}\n`)
  await writeFile(`${values.out}.md`, cacheMarkdown(finished))
}

const engines = await startBenchEngines()
let enginesStopped = false
const stopEngines = async (): Promise<void> => {
  if (enginesStopped) return
  enginesStopped = true
  await engines.stop().catch(() => {})
}
process.once('SIGINT', () => { void stopEngines().then(() => process.exit(130)) })
try {
  run.versions = await engineVersions(engines.redisUrl, engines.postgresUrl)
  await createSchema(engines.postgresUrl)
  const db = new ItemsDb(engines.postgresUrl, 4)
  try {
    if (parts.includes('stampede')) {
      const settings = { instances: Number(values['stampede-instances']), concurrency: Number(values['stampede-misses']), rounds: Number(values['stampede-rounds']), holdMs: 20 }
      run.stampede = { settings, systems: {} }
      for (const system of SYSTEMS) {
        const instances = await Instances.start(settings.instances, { shape: { system, l1: true, redisUrl: engines.redisUrl, prefix: `stampede-${system}:` }, postgresUrl: engines.postgresUrl, dbConnections: 4 })
        try {
          run.stampede.systems[system] = await runStampede(instances, db, { ...settings, label: system })
        } finally {
          await instances.stop()
        }
        log(`stampede ${system}: database queries per round ${run.stampede.systems[system]?.map((r) => r.databaseQueries).join(', ') ?? ''}`)
      }
      await save()
    }
    if (parts.includes('stale')) {
      const settings = { instances: 2, interleavings: Number(values.interleavings), batch: 50, maxDelayMs: 10, settleMs: 100 }
      run.stale = { settings, systems: {} }
      for (const system of SYSTEMS) {
        const instances = await Instances.start(settings.instances, { shape: { system, l1: true, redisUrl: engines.redisUrl, prefix: `stale-${system}:` }, postgresUrl: engines.postgresUrl, dbConnections: 20 })
        try {
          run.stale.systems[system] = await runStaleSets(instances, db, { ...settings, label: system })
        } finally {
          await instances.stop()
        }
        log(`stale sets ${system}: ${JSON.stringify(run.stale.systems[system])}`)
      }
      await save()
    }
    if (parts.includes('hits')) {
      const spec = { keys: 10_000, zipfS: 1.0, concurrency: 32, warmupOps: Math.round(Number(values['hit-ops']) / 4), ops: Number(values['hit-ops']) }
      const operations: HitOperation[] = ['wrap', 'get']
      const rounds = Number(values['hit-rounds'])
      const measurements = await runHitLatency(engines.redisUrl, engines.postgresUrl, { rounds, ops: operations, spec, log })
      run.hits = { settings: { rounds, operations, ...spec }, measurements }
      await save()
    }
  } finally {
    await db.close()
  }
  await stopEngines()
  if (parts.includes('shop')) {
    run.shop = await runShopMix({ rate: Number(values['shop-rate']), durationSeconds: Number(values['shop-duration']), warmupSeconds: Number(values['shop-warmup']), log })
  }
  await save()
  log(`report written to ${values.out}.md and ${values.out}.json`)
} catch (err) {
  run.incomplete = err instanceof Error ? err.message : String(err)
  await save().catch(() => {})
  throw err
} finally {
  await stopEngines()
}
