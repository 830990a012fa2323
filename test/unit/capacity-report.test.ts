import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Topology } from '../../src/config/levels.js'
import type { CapacityReport, TargetCapacity } from '../../src/lab/capacity-levels.js'
import { renderCapacityMarkdown } from '../../src/lab/capacity-report.js'
import { DEFAULT_SEARCH } from '../../src/lab/capacity-search.js'
import { DEFAULT_STEPS } from '../../src/lab/capacity-step.js'
import { activeUsers, playbookRange } from '../../src/lab/seed-users.js'

const topology = (level: number, instances = 1): Topology => ({
  level, colocateDb: level === 1, instances, replicas: level === 4 ? 1 : 0, workers: level === 4 ? 1 : 0, gateway: level === 4,
  redis: level >= 3, redisFailover: level === 4, cache: level >= 3 ? 'redis' : 'none', session: level >= 3 ? 'redis' : 'memory', jobs: level === 4 ? 'bullmq' : 'inprocess',
})

function target (label: string, level: number, capacities: number[], instances = 1): TargetCapacity {
  const sorted = [...capacities].sort((a, b) => a - b)
  return {
    label, level, instances, topology: topology(level, instances), emulation: 'cgroup v1 CPU quota: 0.25 core(s) per server',
    runs: capacities.map((capacity) => ({ calibration: 40_000, capacity, firstFailing: capacity * 1.05, limited: false, steps: [{ rate: capacity, kind: 'full', pass: true, reason: '', p99Ms: 40, achievedRate: capacity, errorRatio: 0, sendLagP99Ms: 1, errorsByKind: {} }] })),
    capacity: { median: sorted[1] ?? sorted[0] ?? 0, min: sorted[0] ?? 0, max: sorted.at(-1) ?? 0 },
    perCalibration: { median: (sorted[1] ?? 0) / 40, min: (sorted[0] ?? 0) / 40, max: (sorted.at(-1) ?? 0) / 40 },
  }
}

const report: CapacityReport = {
  createdAt: '2026-01-01T00:00:00.000Z',
  command: 'outgrow bench --levels 1,2 --scale-out 1,2,4',
  machine: { cpu: 'Test CPU', cores: 2, memoryGiB: 8, os: 'Linux', node: 'v20.0.0' },
  calibration: { opsPerSecond: 40_000, rounds: 5, workload: 'test' },
  settings: { repeats: 3, steps: DEFAULT_STEPS, search: DEFAULT_SEARCH, users: 8, password: 'x', warmupSeconds: 3, warmCacheShare: 0.8, thinkSeconds: 10, products: 1000, cpusPerServer: 0.25, ha: true },
  levels: [target('L1', 1, [90, 100, 110]), target('L2', 2, [190, 200, 210])],
  scaleOut: [target('L4 ×1', 4, [100, 100, 100], 1), target('L4 ×2', 4, [190, 195, 200], 2), target('L4 ×4', 4, [200, 205, 210], 4)],
  previous: { createdAt: '2025-12-31T00:00:00.000Z', capacities: { L1: 95, L2: 220 } },
}

test('the capacity report gives each level its median and range, ratios to L1 and to the level before, and active users', () => {
  const md = renderCapacityMarkdown(report)
  assert.match(md, /\| L1 \| app\+db on one server \| 100 \(90–110\) \| ±10\.0 % \| 1\.00× \| — \| — \| — \| — \| — \| 1,000 \| 100–1K \|/)
  assert.match(md, /\| L2 \| 1 app, db primary \| 200 \(190–210\) \| ±5\.0 % \| 2\.00× \| 2\.00× \| — \| — \| — \| — \| 2,000 \| 1K–10K \|/)
  assert.match(md, /40,000 ops\/s on one core/)
})

test('the CPU bound of each level is shown beside its capacity, with its spread, its ratio to L1 and the share the capacity reaches', () => {
  const bound = (rate: number): NonNullable<TargetCapacity['runs'][number]['cpuBound']> => ({
    rate, limitedBy: 'app-1', steps: 4, servers: [{ server: 'app-1', cpuMsPerRequest: 2.5, quotaCores: 0.5, boundRate: rate }],
  })
  const withBounds: CapacityReport = {
    ...report,
    levels: [
      { ...target('L1', 1, [90, 100, 110]), cpuBound: { median: 150, min: 145, max: 155 }, runs: target('L1', 1, [90, 100, 110]).runs.map((r) => ({ ...r, cpuBound: bound(150) })) },
      { ...target('L2', 2, [190, 200, 210]), cpuBound: { median: 300, min: 290, max: 310 } },
    ],
    previous: { ...report.previous as NonNullable<CapacityReport['previous']>, cpuBounds: { L1: 160 } },
  }
  const md = renderCapacityMarkdown(withBounds)
  assert.match(md, /\| L1 \| app\+db on one server \| 100 \(90–110\) \| ±10\.0 % \| 1\.00× \| — \| 150 \(145–155\) \| ±3\.3 % \| 1\.00× \| 67 % \|/)
  assert.match(md, /\| L2 \| 1 app, db primary \| 200 \(190–210\) \| ±5\.0 % \| 2\.00× \| 2\.00× \| 300 \(290–310\) \| ±3\.3 % \| 2\.00× \| 67 % \|/)
  assert.match(md, /L1 run 1 \(calibration 40000 ops\/s\) → 90; CPU bound 150 req\/s \(app-1: 2\.50 ms CPU per request, of 0\.5 cores; at the top 4 passing steps\)/)
  assert.match(md, /\| L1 \| 100 \| 95 \| 5\.3 % \| 150 \| 160 \| -6\.3 % \|/)
  assert.match(md, /\| L2 \| 200 \| 220 \| -9\.1 % \| 300 \| — \| — \|/)
  const scaled = renderCapacityMarkdown({ ...withBounds, scaleOut: [{ ...target('L4 ×2', 4, [190, 195, 200], 2), cpuBound: { median: 400, min: 380, max: 420 }, runs: target('L4 ×2', 4, [195], 2).runs.map((r) => ({ ...r, cpuBound: { ...bound(400), limitedBy: 'db-primary' } })) }] })
  assert.match(scaled, /\| 2 \| 195 \(190–200\) \| 1\.00 \| 400 \(380–420\) \| db-primary \| — \|/)
})

test('scale-out shows efficiency and where capacity stops growing', () => {
  const md = renderCapacityMarkdown(report)
  assert.match(md, /\| 2 \| 195 \(190–200\) \| 0\.97 \| — \| — \|/)
  assert.match(md, /\| 4 \| 205 \(200–210\) \| 0\.51 \| — \| — \|/)
  assert.match(md, /stops growing between 2 and 4 instances \(195 → 205 req\/s\)/)
})

test('an earlier run is shown beside this one with the change', () => {
  const md = renderCapacityMarkdown(report)
  assert.match(md, /\| L1 \| 100 \| 95 \| 5\.3 % \| — \| — \| — \|/)
  assert.match(md, /\| L2 \| 200 \| 220 \| -9\.1 % \| — \| — \| — \|/)
})

test('active users follow the think time, and the playbook ranges are seed 003\'s', () => {
  assert.equal(activeUsers(123.4, 10), 1234)
  assert.equal(playbookRange(1), '100–1K')
  assert.equal(playbookRange(4), '100K–1M')
  assert.equal(playbookRange(9), '—')
})

test('the report gives how long processes waited for a core over the full steps, when the kernel said', () => {
  assert.doesNotMatch(renderCapacityMarkdown(report), /CPU waits/, 'no line without readings')
  const withWaits: CapacityReport = {
    ...report,
    levels: report.levels.map((t, i) => ({ ...t, runs: t.runs.map((r) => ({ ...r, steps: r.steps.map((st) => ({ ...st, cpuWaitShare: 0.1 * (i + 1) })) })) })),
  }
  assert.match(renderCapacityMarkdown(withWaits), /\*\*CPU waits\*\* \(time in which some process of the machine was runnable but waiting for a core, from \/proc\/pressure\/cpu, over each full step\): median 20 %, max 20 %\./)
})

test('the report gives the loopback round trip beside the CPU calibration, when it was measured', () => {
  assert.doesNotMatch(renderCapacityMarkdown(report), /Loopback round trip/, 'an earlier report without it renders as before')
  const withLoopback: CapacityReport = { ...report, loopback: { roundTripUs: 87, rounds: 3, roundTripsPerRound: 2000, workload: 'one message and its echo' } }
  assert.match(renderCapacityMarkdown(withLoopback), /\*\*Loopback round trip:\*\* 87 µs \(one message and its echo; median of 3 rounds of 2,000\)/)
})

test('the report says when the repeats ran in rounds, and not for older reports that ran them back to back', () => {
  assert.match(renderCapacityMarkdown({ ...report, settings: { ...report.settings, inRounds: true } }), /searched 3 times, each time on a fresh stack, in rounds \(every level once, then every level again/)
  assert.doesNotMatch(renderCapacityMarkdown(report), /in rounds/)
})
