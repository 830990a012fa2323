import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Topology } from '../../src/config/levels.js'
import { actionLatencies, firstFailingStep, sloBreakers } from '../../src/lab/action-latency.js'
import type { CapacityReport, TargetCapacity } from '../../src/lab/capacity-levels.js'
import { renderCapacityMarkdown } from '../../src/lab/capacity-report.js'
import { DEFAULT_SEARCH } from '../../src/lab/capacity-search.js'
import { DEFAULT_STEPS, judgeStep, type MeasuredStep } from '../../src/lab/capacity-step.js'
import type { LatencySummary, OpenLoopResult } from '../../src/lab/open-loop.js'

const latency = (p50Ms: number, p99Ms: number, count = 100): LatencySummary => ({ count, meanMs: p50Ms, p50Ms, p90Ms: p99Ms, p99Ms, p999Ms: p99Ms, maxMs: p99Ms })

const byAction = { product: latency(4, 30, 350), checkout: latency(89, 240, 50), browse: latency(6, 85, 250), history: latency(8, 130, 50), search: latency(0, 0, 0) }

function result (overrides: Partial<OpenLoopResult> = {}): OpenLoopResult {
  return {
    offeredRate: 100, achievedRate: 100, durationMs: 10_000, sent: 1000, completed: 1000, ok: 1000, answered: 1000,
    latency: latency(6, 150), byAction, errorsByKind: {}, instances: {}, sendLag: latency(1, 2), ...overrides,
  }
}

test('each action gets its p50 and p99, slowest first, and those over the objective are named', () => {
  const actions = actionLatencies(byAction, 100)
  assert.deepEqual(actions.map((a) => a.action), ['checkout', 'history', 'browse', 'product'], 'actions without requests are left out')
  assert.deepEqual(actions[0], { action: 'checkout', count: 50, p50Ms: 89, p99Ms: 240, overSlo: true })
  assert.equal(actions.find((a) => a.action === 'browse')?.overSlo, false)
  assert.equal(sloBreakers(actions), 'checkout p99 240 ms, history p99 130 ms')
  assert.equal(sloBreakers(actionLatencies(byAction, 300)), '')
})

test('a step that fails on p99 says which actions broke it, and keeps the actions for the report', () => {
  const step = judgeStep(9, 'full', result(), DEFAULT_STEPS)
  assert.equal(step.pass, false)
  assert.equal(step.reason, 'p99 150 ms > 100 ms (checkout p99 240 ms, history p99 130 ms)')
  assert.equal(step.actions?.[0]?.action, 'checkout')
  const passing = judgeStep(9, 'full', result({ latency: latency(6, 80) }), DEFAULT_STEPS)
  assert.equal(passing.reason, '', 'a step that holds has no reason even when one action is slow')
})

const step = (rate: number, kind: 'ramp' | 'full', pass: boolean): MeasuredStep => ({ ...judgeStep(rate, kind, result(pass ? { latency: latency(6, 50) } : {}), DEFAULT_STEPS), rate })

test('the first failing step is the lowest failing full step, else the lowest failing ramp step', () => {
  assert.equal(firstFailingStep([step(50, 'ramp', false), step(10, 'full', true), step(12, 'full', false), step(11, 'full', false)])?.rate, 11)
  assert.equal(firstFailingStep([step(50, 'ramp', false), step(31, 'ramp', false), step(20, 'full', true)])?.rate, 31)
  assert.equal(firstFailingStep([step(20, 'full', true)]), undefined)
})

const topology: Topology = { level: 3, colocateDb: false, instances: 1, replicas: 0, workers: 0, gateway: false, redis: true, redisFailover: false, cache: 'redis', session: 'redis', jobs: 'inprocess' }

test('the report shows the latency by action at the knee and at the first failing step, and names the actions over the objective', () => {
  const steps = [step(8, 'full', true), step(10, 'full', false), step(9, 'full', true)]
  const l3: TargetCapacity = {
    label: 'L3', level: 3, instances: 1, topology, emulation: 'cgroup v1 CPU quota: 0.25 core(s) per server',
    runs: [{ calibration: 20_000, capacity: 9, firstFailing: 10, limited: false, steps }],
    capacity: { median: 9, min: 9, max: 9 }, perCalibration: { median: 0.45, min: 0.45, max: 0.45 },
    knee: {
      rate: 10, step: { ...judgeStep(10, 'full', result(), DEFAULT_STEPS), cpuWaitShare: 0.42 }, servers: [], machine: { cores: 2, busyCores: 0.3, stackCores: 0.2, otherCores: 0.1 },
      verdict: 'No CPU bottleneck', advice: 'look elsewhere',
      counters: { primaryQueriesPerSecond: 20, replicaQueriesPerSecond: 0, cacheHitRatio: 0.4, jobsCompleted: 0, requestsByInstance: {} },
    },
  }
  const report: CapacityReport = {
    createdAt: '2026-01-01T00:00:00.000Z', command: 'outgrow bench --levels 3',
    machine: { cpu: 'Test CPU', cores: 2, memoryGiB: 8, os: 'Linux', node: 'v20.0.0' },
    calibration: { opsPerSecond: 20_000, rounds: 5, workload: 'test' },
    settings: { repeats: 1, steps: DEFAULT_STEPS, search: DEFAULT_SEARCH, users: 8, password: 'x', warmupSeconds: 3, warmCacheShare: 0.8, thinkSeconds: 10, products: 1000, cpusPerServer: 0.25, ha: false },
    levels: [l3], scaleOut: [],
  }
  const md = renderCapacityMarkdown(report)
  assert.match(md, /Latency by action at the knee \(10 req\/s offered, p99 150 ms\): \*\*Over the 100 ms objective: checkout p99 240 ms, history p99 130 ms\.\*\*/)
  assert.match(md, /\| checkout \| 50 \| 89\.0 \| 240\.0 \| over \|/)
  assert.match(md, /\| browse \| 250 \| 6\.0 \| 85\.0 \| {2}\|/)
  assert.match(md, /The first step that failed in this run \(10 req\/s offered/)
  assert.match(md, /Over the step some process of the machine waited for a core 42 % of the time/)
  assert.match(md, /p99 150 ms > 100 ms \(checkout p99 240 ms, history p99 130 ms\)/, 'the search steps give the reason with its actions')
})
