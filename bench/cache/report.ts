/**
 * The cache report: each part's numbers against bentocache's from the same run, the issue's
 * targets checked, and what differs between the two set-ups.
 */
import { PRODUCT_TTL } from '../../examples/shop/catalog-data.js'
import type { MachineDescription } from '../../src/lab/machine.js'
import type { SystemName } from './contenders.js'
import { HIT_CONTENDERS, type HitMeasurement, type HitOperation } from './hit-latency.js'
import type { ShopMixResult } from './shop-mix.js'
import type { StaleSetsResult } from './stale-sets.js'
import type { StampedeRound } from './stampede.js'
import { steadyStateHits } from './ttl-model.js'

export interface CacheRun {
  readonly startedAt: string
  finishedAt: string
  readonly command: string
  readonly machine: MachineDescription
  versions: Record<string, string>
  stampede?: { readonly settings: { readonly instances: number, readonly concurrency: number, readonly rounds: number, readonly holdMs: number }, readonly systems: Partial<Record<SystemName, StampedeRound[]>> }
  stale?: { readonly settings: { readonly instances: number, readonly interleavings: number, readonly batch: number, readonly maxDelayMs: number, readonly settleMs: number }, readonly systems: Partial<Record<SystemName, StaleSetsResult>> }
  hits?: { readonly settings: { readonly rounds: number, readonly operations: readonly HitOperation[], readonly keys: number, readonly zipfS: number, readonly concurrency: number, readonly warmupOps: number, readonly ops: number }, measurements: HitMeasurement[] }
  shop?: ShopMixResult
  /** Parts kept from an earlier run (`--keep`), and when and how that run measured them. */
  kept?: { readonly parts: readonly string[], readonly startedAt: string, readonly finishedAt: string, readonly command: string }
  /** Set when the run stopped early. */
  incomplete?: string
}

const PRODUCT_TTL_SECONDS = PRODUCT_TTL

const LABEL: Record<SystemName, string> = { outgrow: 'Outgrow (TieredCache, leases)', bentocache: 'bentocache (L1 memory + L2 Redis + Redis bus)' }

export function median (values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length === 0 ? NaN : sorted.length % 2 === 1 ? sorted[middle] as number : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}

const range = (values: readonly number[], digits = 2): string => values.length === 0 ? '–' : `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}`
const met = (ok: boolean): string => ok ? 'met' : '**not met**'

function stampedeSection (s: NonNullable<CacheRun['stampede']>): string {
  const rows = (Object.entries(s.systems) as Array<[SystemName, StampedeRound[]]>).map(([system, rounds]) => {
    const queries = rounds.map((r) => r.databaseQueries)
    const loaders = rounds.map((r) => r.perInstance.map((p) => p.loads).join('+')).join(', ')
    const errors = rounds.reduce((sum, r) => sum + r.perInstance.reduce((a, p) => a + p.errors, 0), 0)
    const slowest = rounds.map((r) => Math.max(...r.perInstance.map((p) => p.ms)))
    return `| ${LABEL[system]} | ${queries.join(', ')} | ${loaders} | ${errors} | ${median(slowest).toFixed(0)} ms | ${system === 'outgrow' ? met(queries.every((q) => q === 1)) : '(anchor)'} |`
  })
  return `## Stampede

${s.settings.instances} instances (separate Node processes, each with its own Redis connections, cache and database pool) fire ${s.settings.concurrency} concurrent \`wrap\`/\`getOrSet\` calls each on one key nobody has cached, all at the same instant (a start time sent ahead); the loader inserts a row into a counter table and then reads the value in a query that takes ${s.settings.holdMs} ms. The database's counter table gives the queries. ${s.settings.rounds} rounds, a fresh key each.

| System | Database queries per round | Loader runs per instance, per round | Errors | Time until all ${s.settings.instances * s.settings.concurrency} callers had the value (median) | Target: exactly 1 |
|---|---|---|---:|---:|---|
${rows.join('\n')}
`
}

function staleSection (s: NonNullable<CacheRun['stale']>): string {
  const rows = (Object.entries(s.systems) as Array<[SystemName, StaleSetsResult]>).map(([system, r]) =>
    `| ${LABEL[system]} | ${r.interleavings} | **${r.staleKeys}** | ${r.staleViews} | ${r.freshKeys} | ${r.uncachedKeys} | ${r.errors} | ${system === 'outgrow' ? met(r.staleKeys === 0) : '(anchor)'} |`)
  return `## Stale sets

${s.settings.interleavings} interleavings on ${s.settings.instances} instances (processes), ${s.settings.batch} at a time, each on a key of its own: one instance loads the key through the cache (the loader reads the row, then waits a random 0–${s.settings.maxDelayMs} ms before returning), the other, after a random 0–${s.settings.maxDelayMs} ms, updates the row and deletes the key. ${s.settings.settleMs} ms after the last delete of a batch returned, every instance reads every key of the batch (\`get\`: its L1, else Redis) and the value's version is compared with the row's.

| System | Interleavings | Stale keys | Stale views (instance × key) | Cached and current | Not cached | Errors | Target: 0 stale |
|---|---:|---:|---:|---:|---:|---:|---|
${rows.join('\n')}

A stale key is one whose cached value is older than the database's after the write and its delete both returned: it stays until its TTL (60 s here) ends.
`
}

const PAIRS: ReadonlyArray<[string, string]> = [['Outgrow L1+L2', 'bentocache L1+L2+bus'], ['Outgrow L1+L2', 'bentocache L1 (serialize: false)+L2+bus'], ['Outgrow Redis only', 'bentocache L2 only']]

function hitsSection (h: NonNullable<CacheRun['hits']>): string {
  const s = h.settings
  const tables = s.operations.map((op) => {
    const of = (contender: string): HitMeasurement[] => h.measurements.filter((m) => m.op === op && m.contender === contender)
    const rows = HIT_CONTENDERS.map((c) => {
      const m = of(c.name)
      if (m.length === 0) return undefined
      const p = (f: (x: HitMeasurement) => number): string => `${median(m.map(f)).toFixed(0)} (${range(m.map(f), 0)})`
      return `| ${c.name} | ${p((x) => x.result.p50Us)} | ${p((x) => x.result.p99Us)} | ${p((x) => x.result.p999Us)} | ${p((x) => x.result.opsPerSecond)} | ${m.reduce((a, x) => a + x.result.misses, 0)} |`
    }).filter((r) => r !== undefined)
    const ratios = PAIRS.map(([ours, theirs]) => {
      const rounds = of(ours).map((m) => ({ ours: m, theirs: of(theirs).find((t) => t.round === m.round) })).filter((r): r is { ours: HitMeasurement, theirs: HitMeasurement } => r.theirs !== undefined)
      if (rounds.length === 0) return undefined
      const ratio = (f: (x: HitMeasurement) => number): number[] => rounds.map((r) => f(r.ours) / f(r.theirs))
      const throughput = ratio((x) => x.result.opsPerSecond)
      const p50 = ratio((x) => x.result.p50Us)
      const p99 = ratio((x) => x.result.p99Us)
      const verdict = median(throughput) >= 1 && median(p50) <= 1 && median(p99) <= 1 ? 'met' : '**not met**'
      return `| ${ours} ÷ ${theirs} | **${median(throughput).toFixed(2)}** (${range(throughput)}) | ${median(p50).toFixed(2)} (${range(p50)}) | ${median(p99).toFixed(2)} (${range(p99)}) | ${verdict} |`
    }).filter((r) => r !== undefined)
    return `### \`${op}\` hits

| Contender | p50 µs | p99 µs | p99.9 µs | ops/s | Misses |
|---|---:|---:|---:|---:|---:|
${rows.join('\n')}

Ratios within each round (median, then the range over rounds; throughput above 1 and latency below 1 mean Outgrow is faster):

| Pair | Throughput | p50 | p99 | At least as fast |
|---|---:|---:|---:|---|
${ratios.join('\n')}
`
  })
  return `## Hit latency and throughput

${s.keys} keys (values of about 1 KB, like a product's JSON) cached first, then ${s.concurrency} callers in a closed loop look up keys drawn from Zipf(${s.zipfS}) in one process: ${s.warmupOps} look-ups of warm-up, then ${s.ops} measured, each timed into a histogram (µs). Each contender runs in a fresh process, Redis emptied before it; ${s.rounds} rounds, the order rotated each round. Medians over rounds, with the range in brackets. Both L1s hold ${s.keys} entries, so with L1 every measured look-up is an L1 hit; without it, a Redis round trip. With ${s.concurrency} callers on one event loop a look-up's time includes its turn behind the others (about ${s.concurrency} ÷ throughput), so p50 follows throughput, and p99 catches garbage-collection pauses and the machine's scheduling.

${tables.join('\n')}`
}

function shopSection (shop: ShopMixResult): string {
  const s = shop.settings
  const rows = shop.measurements.map((m) => `| L${m.level} | ${m.mix} | ${m.load.offeredRate} | ${m.load.achievedRate} | ${m.load.latency.p50Ms} | ${m.load.latency.p99Ms} | ${m.server.primaryQueriesPerSecond} | ${m.level === 2 ? 'no cache' : m.server.cacheHitRatio ?? '—'} |`)
  const verdicts = [...new Set(shop.measurements.map((m) => m.mix))].map((mix) => {
    const l2 = shop.measurements.find((m) => m.level === 2 && m.mix === mix)
    const l3 = shop.measurements.find((m) => m.level === 3 && m.mix === mix)
    if (l2 === undefined || l3 === undefined) return undefined
    const reduction = l2.server.primaryQueriesPerSecond / Math.max(1, l3.server.primaryQueriesPerSecond)
    const ratio = l3.server.cacheHitRatio ?? 0
    // The targets are for the read-heavy mix; the whole mix's writes reach the database whatever caches.
    if (mix !== 'catalogue') return `| ${mix} | ${l2.server.primaryQueriesPerSecond} | ${l3.server.primaryQueriesPerSecond} | ${reduction.toFixed(1)}× (writes included: for reference) | ${(ratio * 100).toFixed(1)} % |`
    return `| ${mix} | ${l2.server.primaryQueriesPerSecond} | ${l3.server.primaryQueriesPerSecond} | **${reduction.toFixed(1)}×** ${met(reduction >= 20)} | **${(ratio * 100).toFixed(1)} %** ${met(ratio >= 0.95)} |`
  }).filter((r) => r !== undefined)
  const statements = shop.measurements.map((m) => `**L${m.level}, ${m.mix} mix** (${m.server.primaryQueriesPerSecond} statements/s counted by the app):

| Statement | Calls/s |
|---|---:|
${m.statements.map((st) => `| \`${st.query.replace(/\|/g, '\\|').slice(0, 120)}\` | ${st.perSecond} |`).join('\n')}
`)
  const catalogue = shop.measurements.find((m) => m.level === 3 && m.mix === 'catalogue')
  const productRate = s.rate * 35 / 70
  const model = steadyStateHits({ requestsPerSecond: productRate, keys: s.products, zipfS: 1.0, ttlSeconds: PRODUCT_TTL_SECONDS * 0.95 })
  const productLoads = catalogue?.statements.find((st) => st.query.includes('p.description'))?.perSecond
  const catalogueMet = catalogue !== undefined && (catalogue.server.cacheHitRatio ?? 0) >= 0.95
  const why = `**Reading it.** Product pages are half of the catalogue mix (${productRate} req/s here); their entries live ${PRODUCT_TTL_SECONDS} s (\`PRODUCT_TTL\` in \`examples/shop/catalog-data.ts\`, less up to 10 % jitter) and are invalidated by every change to their row — through the database's change feed, and by the checkouts and admin writes themselves — so the TTL only bounds memory. Their popularity is Zipf(1.0) over ${s.products} products: most are asked for rarely, so a cache that has just started misses on the long tail for a long time. ${s.warmedCatalogue === true ? 'Each level\'s catalogue was therefore requested once, product by product, before its warm-up (at level 2 this only reads each row once), as a shop that has run for a while would have it: the table measures the steady state, not the cache filling up.' : 'The catalogue was not warmed first: the table includes the cache filling up.'} By TTL expiry alone, ${PRODUCT_TTL_SECONDS} s entries allow at best **${(model.hitRatio * 100).toFixed(1)} %** product-page hits at this rate in the steady state, ${model.missesPerSecond.toFixed(1)} loads/s (\`ttl-model.ts\`)${productLoads === undefined ? '' : `; the product query ran ${productLoads}/s at L3`}. Lists and searches are a few hundred keys, nearly all hits. ${catalogueMet ? '' : 'The catalogue mix misses the 95 % target here. '}The targets are for the read-heavy mix; on the whole shop mix, checkouts write (each one a transaction of several statements the cache cannot take) and invalidate the popular products they sell, and carts, checkouts and order history are not cached, so the database still answers every write and most of their reads: no cache makes that mix's statements 20× fewer.`
  return `## L3 against L2 on the shop's mix

The lab's stacks (\`outgrow bench\`'s stack start and open-loop generator): level 2 (one app, PostgreSQL, no cache) and level 3 (the same with Redis: the tiered cache and sessions), ${s.emulation}. ${s.users} logged-in users, Zipf(1.0) product popularity over ${s.products} products, ${s.rate} req/s offered for ${s.durationSeconds} s after ${s.warmupSeconds} s of warm-up, per mix: **shop** is the shop's whole mix (browse 25 %, product 35 %, search 10 %, add to cart 15 %, cart 5 %, checkout 5 %, history 5 %); **catalogue** only its catalogue reads (browse, product, search in the same proportions). Database statements per second are counted by the app (every statement, BEGIN/COMMIT included); the hit ratio is the cache's \`wrap\` hits over hits and misses.

| Level | Mix | Offered req/s | Achieved req/s | p50 ms | p99 ms | Database statements/s | Cache hit ratio |
|---|---|---:|---:|---:|---:|---:|---:|
${rows.join('\n')}

| Mix | L2 statements/s | L3 statements/s | Target: ≥ 20× fewer | Target: hit ratio ≥ 95 % |
|---|---:|---:|---|---|
${verdicts.join('\n')}

${why}

What reaches PostgreSQL (pg_stat_statements on the primary, the measured window, most called first):

${statements.join('\n')}`
}

const FAIRNESS = `## What is the same and what differs

- Same Redis and PostgreSQL servers, same values (about 1 KB), same keys, same concurrency, same TTLs (60 s in the stampede and stale-set parts, 3600 s for hits); no grace for either (neither's default).
- L1: both an LRU of 10 000 entries. Outgrow's L1 holds the decoded value; bentocache's memory driver serialises entries by default (\`serialize: true\`), so each of its L1 hits parses JSON. Both run with their defaults; the hit measurements add bentocache with \`serialize: false\` (its L1 then holds the objects, as Outgrow's does).
- Outgrow runs exactly as a process config makes it (\`cacheConfigSchema\` defaults, \`src/runtime/adapters.ts\`): TTL jitter 10 %, leases of 5000 ms, misses waiting up to 500 ms for the lease holder's value. bentocache has no jitter and no cross-process lock: its stampede protection is a lock per key in each process.
- Every Outgrow \`wrap\` that reaches Redis runs its LOOKUP script (GET and PTTL in Lua; on a miss a second call takes the lease and reads the write fence), where bentocache sends a plain GET (and a SET after the factory): on a hit without L1 Outgrow asks more of Redis, which shares the machine's cores. \`get\` is a plain GET in both.
`

export function cacheMarkdown (run: CacheRun): string {
  const m = run.machine
  return [
    `# Cache: Outgrow against bentocache

Measured ${run.startedAt} to ${run.finishedAt} by \`${run.command}\`.${run.kept === undefined ? '' : ` The ${run.kept.parts.join(', ')} part${run.kept.parts.length > 1 ? 's were' : ' was'} measured earlier, ${run.kept.startedAt} to ${run.kept.finishedAt}, by \`${run.kept.command}\` on the same machine, and kept.`}${run.incomplete === undefined ? '' : `\n\n**Incomplete:** ${run.incomplete}`}

**Machine:** ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}. Every process of the run (Redis, PostgreSQL, the instances, the load generator) shares these cores.

**Versions:** ${Object.entries(run.versions).map(([k, v]) => `${k} ${v}`).join(', ')}.
`,
    run.stampede === undefined ? '' : stampedeSection(run.stampede),
    run.stale === undefined ? '' : staleSection(run.stale),
    run.hits === undefined ? '' : hitsSection(run.hits),
    run.shop === undefined ? '' : shopSection(run.shop),
    FAIRNESS,
  ].filter((s) => s !== '').join('\n')
}
