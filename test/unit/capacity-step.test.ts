import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { availableParallelism } from 'node:os'
import { test } from 'node:test'
import type { StackProcessInfo } from '../../src/control/stack.js'
import { DEFAULT_STEPS, judgeStep, stepProbe, stepSeconds, type MeasuredStep, type StepSettings } from '../../src/lab/capacity-step.js'
import type { CpuWindowSource } from '../../src/lab/cpu-window.js'
import type { LatencySummary, OpenLoopResult } from '../../src/lab/open-loop.js'
import type { PlannedRequest, VirtualUser } from '../../src/lab/user-mix.js'

const latency = (p99Ms: number): LatencySummary => ({ count: 1000, meanMs: p99Ms / 4, p50Ms: p99Ms / 5, p90Ms: p99Ms / 2, p99Ms, p999Ms: p99Ms * 2, maxMs: p99Ms * 3 })

function result (overrides: Partial<OpenLoopResult> = {}): OpenLoopResult {
  return {
    offeredRate: 100, achievedRate: 100, durationMs: 10_000, sent: 1000, completed: 1000, ok: 990, answered: 1000,
    latency: latency(40), byAction: {}, errorsByKind: { '4xx:409': 10 }, instances: {}, sendLag: latency(2), ...overrides,
  }
}

test('a step holds with p99 within the objective, refused checkouts (4xx) being answers', () => {
  const step = judgeStep(100, 'full', result(), DEFAULT_STEPS)
  assert.equal(step.pass, true)
  assert.equal(step.reason, '')
  assert.equal(step.errorRatio, 0)
})

test('a step fails on p99, on failures at or above 0.1 %, on unanswered requests and on a late generator, saying why', () => {
  assert.match(judgeStep(100, 'full', result({ latency: latency(150) }), DEFAULT_STEPS).reason, /^p99 150 ms > 100 ms$/)
  const errors = judgeStep(100, 'full', result({ errorsByKind: { '5xx:503': 1, timeout: 1 } }), DEFAULT_STEPS)
  assert.equal(errors.pass, false)
  assert.match(errors.reason, /errors 0\.20 %/)
  assert.equal(judgeStep(100, 'full', result({ errorsByKind: { 'net:ECONNRESET': 0 } }), DEFAULT_STEPS).pass, true)
  assert.match(judgeStep(100, 'full', result({ completed: 990 }), DEFAULT_STEPS).reason, /10 unanswered/)
  assert.match(judgeStep(100, 'ramp', result({ sendLag: latency(45) }), DEFAULT_STEPS).reason, /generator late/)
})

test('a full step measures at least minRequests requests, within maxFullSeconds; a ramp step keeps its length', () => {
  const settings = { ...DEFAULT_STEPS, rampSeconds: 5, fullSeconds: 10, minRequests: 1000, maxFullSeconds: 60 }
  assert.equal(stepSeconds(200, 'full', settings), 10)
  assert.equal(stepSeconds(40, 'full', settings), 25)
  assert.equal(stepSeconds(45, 'full', settings), 23)
  assert.equal(stepSeconds(5, 'full', settings), 60)
  assert.equal(stepSeconds(5, 'ramp', settings), 5)
  assert.equal(stepSeconds(40, 'full', { ...settings, minRequests: 0 }), 10)
})

test('a step reads each server\'s CPU over its measured window only, for the CPU bound', async () => {
  const server = createServer((_req, res) => { res.writeHead(200); res.end('ok') })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  // A server that burns a quarter of a core from when the stack is first read: 0.25 s of CPU per second.
  let firstRead: number | undefined
  const cpu: CpuWindowSource = {
    info: () => ({ processes: [{ name: 'app-1', role: 'app', server: 'app-1', pid: process.pid } as unknown as StackProcessInfo] }),
    serverCpu: () => {
      firstRead ??= Date.now()
      return { usageNs: (Date.now() - firstRead) * 0.25 * 1e6, quotaCores: 0.5, throttling: undefined, source: 'cgroup' }
    },
  }
  const settings: StepSettings = { ...DEFAULT_STEPS, settleSeconds: 0.3, fullSeconds: 1, minRequests: 0, pauseMs: 0 }
  const user: VirtualUser = { email: 'u', cookie: '', cartItems: 0 }
  const startedAt = Date.now()
  try {
    const probe = stepProbe({ url, next: (): PlannedRequest => ({ action: 'product', method: 'GET', path: '/', user }), label: 't', cpu }, settings)
    const step = await probe(40, 'full') as MeasuredStep
    const app = step.cpu?.servers.find((s) => s.server === 'app-1')
    assert.ok(app !== undefined, 'the step carries the server\'s CPU')
    assert.equal(app.quotaCores, 0.5)
    assert.ok(Math.abs(app.usedCores - 0.25) < 0.03, `used ${app.usedCores} cores over the window`)
    assert.ok(firstRead !== undefined && firstRead - startedAt >= 250, `the window opens after settling, not at the step's start (${firstRead ?? NaN} - ${startedAt})`)
    assert.equal(step.cpu?.machineCores, availableParallelism())
  } finally {
    server.close()
  }
})
