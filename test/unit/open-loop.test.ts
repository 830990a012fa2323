import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { arrivalSchedule, newHistogram, runOpenLoop, summarize } from '../../src/lab/open-loop.js'
import { percentile, PerSecondRecorder } from '../../src/lab/per-second.js'
import type { PlannedRequest, VirtualUser } from '../../src/lab/user-mix.js'

const user: VirtualUser = { email: 'u', cookie: '', cartItems: 0 }
const plan = (): PlannedRequest => ({ action: 'product', method: 'GET', path: '/', user })

test('the offered rate is held whatever the server does, and latency counts from the intended send time', async () => {
  // The server answers one request at a time, 20 ms each: at most 50 req/s.
  let busyUntil = 0
  const server = createServer((_req, res) => {
    const start = Math.max(Date.now(), busyUntil)
    busyUntil = start + 20
    setTimeout(() => { res.writeHead(200, { 'x-outgrow-instance': 'one' }); res.end('ok') }, busyUntil - Date.now())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  try {
    const result = await runOpenLoop({ url, rate: 100, durationMs: 1000, connections: 200, timeoutMs: 10_000, next: plan })
    assert.equal(result.sent, 100, 'an open model sends rate × duration requests')
    assert.equal(result.ok, 100)
    // 100 requests queued behind a 20 ms server: the last waits ≈ 2 s from its intended time.
    assert.ok(result.latency.p99Ms > 900, `p99 ${result.latency.p99Ms} ms shows the queueing`)
    assert.ok(result.achievedRate < 70, `achieved ${result.achievedRate} req/s is the server's capacity, not the offered rate`)
    assert.equal(result.instances.one, 100)
    // The HDR plot's points: from 50 % up, never decreasing, ending at the maximum.
    const points = result.percentiles ?? []
    assert.equal(points[0]?.percentile, 50)
    assert.deepEqual(points.at(-1), { percentile: 100, ms: result.latency.maxMs })
    assert.ok(points.every((p, i) => i === 0 || (p.percentile > (points[i - 1]?.percentile ?? 0) && p.ms >= (points[i - 1]?.ms ?? 0))))
    assert.ok(points.some((p) => p.percentile > 99.9 && p.percentile < 100), 'the tail beyond 99.9 % is plotted')
  } finally {
    server.close()
  }
})

test('errors are counted by kind', async () => {
  const server = createServer((req, res) => { res.writeHead(req.url === '/' ? 503 : 200); res.end() })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  try {
    const result = await runOpenLoop({ url, rate: 50, durationMs: 200, connections: 10, timeoutMs: 1000, next: plan })
    assert.equal(result.errorsByKind['5xx:503'], result.sent)
    assert.equal(result.ok, 0)
  } finally {
    server.close()
  }
})

test('arrival schedule: i/rate at a constant rate; a varying rate spaces requests by the rate at the previous due time', () => {
  const constant = arrivalSchedule(100)
  assert.deepEqual([0, 1, 2, 100].map(constant), [0, 10, 20, 1000])
  const step = arrivalSchedule((ms) => ms < 1000 ? 10 : 100)
  assert.deepEqual([0, 1, 9, 10, 11, 12].map(step), [0, 100, 900, 1000, 1010, 1020])
  const pause = arrivalSchedule((ms) => ms < 50 ? 0 : 1000)
  assert.deepEqual([0, 1, 2].map(pause), [50, 51, 52], 'a rate of 0 sends nothing until it rises')
})

test('per-second recorder: offered and failures by due second, answers by arrival second, p50 and p99 of the due second', () => {
  const recorder = new PerSecondRecorder()
  recorder.instances(0, { ready: 1, running: 1 })
  recorder.instances(0, { ready: 9, running: 9 })
  for (let i = 0; i < 100; i++) { recorder.sent(0.5); recorder.completed(0.5, 1.2, i + 1, 'answered') }
  recorder.sent(1.1)
  recorder.completed(1.1, 1.3, 500, 'failed')
  recorder.instances(1, { ready: 2, running: 3 })
  const [first, second, third] = recorder.samples(3)
  assert.deepEqual(first, { second: 0, offered: 100, achieved: 0, p99Ms: 99, p50Ms: 50, failed: 0, instances: { ready: 1, running: 1 } })
  assert.deepEqual(second, { second: 1, offered: 1, achieved: 100, p99Ms: 500, p50Ms: 500, failed: 1, instances: { ready: 2, running: 3 } })
  assert.deepEqual(third, { second: 2, offered: 0, achieved: 0, p99Ms: 0, p50Ms: 0, failed: 0, instances: undefined })
  assert.equal(percentile([], 99), 0)
  assert.equal(percentile([3, 1, 2], 50), 2)
})

test('a varying rate is played second by second, and each second records offered, achieved and the instance count', async () => {
  const server = createServer((_req, res) => { res.writeHead(200); res.end('ok') })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  let reads = 0
  try {
    const result = await runOpenLoop({
      url, rate: (ms) => ms < 1000 ? 40 : 120, durationMs: 2000, connections: 50, timeoutMs: 5000, next: plan,
      perSecond: { instances: () => { reads++; return { ready: reads, running: reads } } },
    })
    // 40 in the first second, 120 in the second (± 1 for the float sum of 120 intervals of 1/120 s)
    assert.ok(Math.abs(result.sent - 160) <= 1, `sent ${result.sent}`)
    assert.ok(Math.abs(result.offeredRate - 80) <= 0.5)
    const seconds = result.seconds ?? []
    assert.equal(seconds[0]?.offered, 40)
    assert.ok(Math.abs((seconds[1]?.offered ?? 0) - 120) <= 1)
    const achieved = seconds.reduce((a, s) => a + s.achieved, 0)
    assert.ok(achieved > 0 && achieved <= result.answered, `answers counted by the second they arrived in (${achieved} of ${result.answered}; those after the end are left out)`)
    assert.deepEqual(seconds.map((s) => s.instances?.ready), [1, 2], 'read once at the start of each second')
    assert.ok(seconds.every((s) => s.failed === 0 && s.p99Ms > 0))
  } finally {
    server.close()
  }
})

test('no percentile in a latency summary lies above the largest latency recorded', () => {
  const h = newHistogram()
  // 500 fast answers and one slow one: p99.9 falls in the slow one's bucket, whose top is above it.
  for (let i = 0; i < 500; i++) h.recordValue(5_000)
  h.recordValue(115_828)
  const summary = summarize(h)
  assert.equal(summary.maxMs, 115.828)
  for (const value of [summary.p50Ms, summary.p90Ms, summary.p99Ms, summary.p999Ms]) assert.ok(value <= summary.maxMs, `${value} > max ${summary.maxMs}`)
  assert.equal(summary.p999Ms, 115.828)
})
