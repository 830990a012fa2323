import assert from 'node:assert/strict'
import { test } from 'node:test'
import { chartDefs, TOP_INSTANCES } from '../../src/dashboard/client/chart-defs.js'
import { rate } from '../../src/dashboard/client/format.js'
import { edgeGeometry, layoutKey, layoutTopology, type NodeBox } from '../../src/dashboard/client/topology-layout.js'
import type { DashboardSample, ProcessView } from '../../src/dashboard/sample.js'

const proc = (name: string, role: string, server = name): ProcessView => ({ name, role, server, status: 'healthy', restarts: 0, pid: 1, dataRole: null, detail: null })

function level4 (instances: number): ProcessView[] {
  return [
    proc('gateway', 'gateway'),
    ...Array.from({ length: instances }, (_, i) => proc(`app-${i + 1}`, 'app')),
    proc('worker-1', 'worker'),
    proc('postgres-primary', 'postgres', 'db-primary'),
    proc('postgres-replica-1', 'postgres', 'db-replica-1'),
    proc('redis', 'redis'),
    proc('redis-sentinel-1', 'sentinel'),
  ]
}

const overlaps = (a: NodeBox, b: NodeBox): boolean => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h

test('the topology puts 32 instances in wrapped columns between the gateway and the data stores, none overlapping', () => {
  const layout = layoutTopology(level4(32))
  const nodes = [...layout.nodes.values()]
  assert.equal(nodes.length, 38)
  for (const [i, a] of nodes.entries()) for (const b of nodes.slice(i + 1)) assert.ok(!overlaps(a, b), `${a.name} overlaps ${b.name}`)
  for (const n of nodes) assert.ok(n.x >= 0 && n.y >= 0 && n.x + n.w <= layout.width && n.y + n.h <= layout.height, `${n.name} inside the picture`)
  const x = (name: string): number => layout.nodes.get(name)?.x ?? NaN
  const apps = nodes.filter((n) => n.name.startsWith('app-'))
  assert.ok(apps.every((a) => a.x > x('gateway') && a.x < x('redis')), 'instances between the gateway and the data')
  assert.ok(new Set(apps.map((a) => a.x)).size > 1, 'a tall column wraps')
  assert.ok(x('redis-sentinel-1') > x('redis'), 'coordinators after the data stores')
  assert.deepEqual(layout.columnSizes, [1, 33, 3, 1])
  // The wrapped column is one group for its links, spanning every instance.
  assert.deepEqual([...layout.wrapped.keys()], [1])
  const group = layout.wrapped.get(1) as NodeBox
  assert.ok(apps.every((a) => a.x >= group.x && a.x + a.w <= group.x + group.w && a.y >= group.y && a.y + a.h <= group.y + group.h))
  assert.equal(layoutTopology(level4(3)).wrapped.size, 0)
  // app-2 sits under app-1, not after app-10 (natural order).
  assert.ok((layout.nodes.get('app-2')?.y ?? 0) > (layout.nodes.get('app-1')?.y ?? 0))
  assert.equal(layout.nodes.get('app-2')?.x, layout.nodes.get('app-1')?.x)
})

test('the layout key changes when a process comes, goes or moves, not when its state does', () => {
  const base = level4(3)
  assert.equal(layoutKey(base), layoutKey(base.map((p) => ({ ...p, status: 'dead' as const, restarts: 4 }))))
  assert.notEqual(layoutKey(base), layoutKey(level4(4)))
  assert.notEqual(layoutKey(base), layoutKey(base.map((p) => p.name === 'app-1' ? { ...p, server: 'elsewhere' } : p)))
})

test('links leave the right side of the source for the left side of a target further right', () => {
  const layout = layoutTopology(level4(3))
  const gateway = layout.nodes.get('gateway') as NodeBox
  const app = layout.nodes.get('app-2') as NodeBox
  const g = edgeGeometry(layout, gateway, app)
  assert.equal(g.x1, gateway.x + gateway.w)
  assert.equal(g.x2, app.x)
  assert.ok(g.lx > g.x1 && g.lx < g.x2)
})

test('the per-instance chart draws the busiest instances and sums the rest as "others"', () => {
  const def = chartDefs().find((d) => d.id === 'instances')
  assert.ok(def !== undefined)
  const instances = Array.from({ length: 32 }, (_, i) => ({ name: `app-${i + 1}`, requestsPerSecond: i + 1, p50Ms: 1, p99Ms: 2, errorsPerSecond: 0, elu: 0.1, inFlight: 0, serverCpu: 0.1 }))
  const sample = { t: 1000, instances } as unknown as DashboardSample
  const selected = def.select([sample])
  assert.equal(selected.series.length, TOP_INSTANCES + 1)
  assert.deepEqual(selected.series.map((s) => s.label), ['app-25', 'app-26', 'app-27', 'app-28', 'app-29', 'app-30', 'app-31', 'app-32', 'others'])
  const values = selected.point(sample)
  assert.equal(values[0], 25)
  assert.equal(values[TOP_INSTANCES], (24 * 25) / 2, 'others: app-1 … app-24')
})

test('rates are short and say when they are unknown', () => {
  assert.deepEqual([rate(0), rate(1.5), rate(12.345), rate(340.6), rate(null)], ['0', '1.5', '12.3', '341', '–'])
})
