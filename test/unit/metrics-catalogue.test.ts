import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import '../../src/data/change-feed-metrics.js'
import '../../src/gateway/metrics.js'
import type { UpstreamCluster } from '../../src/gateway/cluster.js'
import { upstreamMetricsRegistry } from '../../src/gateway/upstream-metrics.js'
import { registry } from '../../src/runtime/metrics.js'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

/** The catalogue's rows: | `name` | type | labels | meaning |. */
async function catalogue (): Promise<Map<string, string>> {
  const text = await readFile(join(ROOT, 'docs', 'metrics.md'), 'utf8')
  const rows = new Map<string, string>()
  for (const m of text.matchAll(/^\| `([a-zA-Z_:][a-zA-Z0-9_:]*)` \| (counter|gauge|histogram|summary) \|/gm)) rows.set(m[1] as string, m[2] as string)
  return rows
}

/** Metric families the code registers, with their types: the registries imported, and every name written in src/. */
async function registered (): Promise<Map<string, string>> {
  const stub = { members: [], draining: new Set() } as unknown as UpstreamCluster
  const found = new Map<string, string>()
  for (const r of [registry, upstreamMetricsRegistry(stub, [])]) {
    for (const m of await r.getMetricsAsJSON()) if (m.name.startsWith('outgrow_')) found.set(m.name, String(m.type))
  }
  // A module the imports above miss still names its metrics in its source.
  const files = (await readdir(join(ROOT, 'src'), { recursive: true })).filter((f) => f.endsWith('.ts'))
  for (const file of files) {
    const source = await readFile(join(ROOT, 'src', file), 'utf8')
    for (const m of source.matchAll(/name: '(outgrow_[a-z0-9_]+)'|family\(registry, '(outgrow_[a-z0-9_]+)'/g)) {
      const name = (m[1] ?? m[2]) as string
      if (!found.has(name)) found.set(name, 'unknown')
    }
  }
  return found
}

test('every metric the code registers is in docs/metrics.md with its type, and the catalogue names no other', async () => {
  const docs = await catalogue()
  const code = await registered()
  assert.ok(code.size > 40, `found ${code.size} metric families`)
  for (const [name, type] of code) {
    assert.ok(docs.has(name), `${name} is registered but missing from docs/metrics.md`)
    if (type !== 'unknown') assert.equal(docs.get(name), type, `${name}: docs say ${docs.get(name) ?? ''}, code registers a ${type}`)
  }
  for (const name of docs.keys()) {
    if (name.startsWith('outgrow_')) assert.ok(code.has(name), `docs/metrics.md lists ${name}, which nothing registers`)
  }
  for (const old of ['outgrow_gateway_upstream_active', 'outgrow_gateway_upstream_ejections']) assert.ok(!code.has(old), `${old} stays renamed`)
})

/** Every string under a key `expr` or `query`/`definition`, anywhere in the dashboard. */
function queries (node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const item of node) queries(item, out)
  else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (typeof value === 'string' && (key === 'expr' || key === 'definition')) out.push(value)
      else queries(value, out)
    }
  }
  return out
}

test('the Grafana dashboard parses and queries only metrics in the catalogue', async () => {
  const dashboard = JSON.parse(await readFile(join(ROOT, 'docs', 'grafana', 'outgrow.json'), 'utf8')) as { panels: Array<{ type: string, targets?: unknown[] }>, templating: unknown }
  const docs = await catalogue()
  const exprs = queries(dashboard)
  assert.ok(dashboard.panels.filter((p) => p.type === 'timeseries').length >= 20)
  assert.ok(exprs.length >= 30, `${exprs.length} queries`)
  const used = new Set<string>()
  for (const expr of exprs) for (const m of expr.matchAll(/\b((?:outgrow|process|nodejs)_[a-z0-9_]+)\b/g)) used.add(m[1] as string)
  for (const name of used) {
    const base = name.replace(/_(bucket|sum|count)$/, '')
    const known = docs.has(name) || (base !== name && docs.get(base) === 'histogram')
    assert.ok(known, `the dashboard queries ${name}, which docs/metrics.md does not list`)
  }
  for (const needed of ['outgrow_gateway_requests_total', 'outgrow_gateway_upstream_latency_seconds_bucket', 'outgrow_event_loop_utilization', 'process_cpu_seconds_total', 'outgrow_db_queries_total', 'outgrow_cache_requests_total', 'outgrow_job_queue_jobs', 'outgrow_outbox_backlog', 'outgrow_db_read_routing_total']) {
    assert.ok(used.has(needed), `the dashboard shows ${needed}`)
  }
  assert.ok(!exprs.some((e) => /\binstance\b/.test(e.replace(/\$__rate_interval/g, ''))), 'no query groups by the gateway\'s old instance label')
})
