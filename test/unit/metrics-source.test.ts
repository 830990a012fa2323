import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { cgroupCpuUsage, cpuUtilization, parseCpuacctUsage, parseInstanceMetrics, quantileBetween, scrapeInstanceMetrics } from '../../src/control/autoscaler/metrics-source.js'
import { OutgrowError } from '../../src/errors/index.js'

function exposition (buckets: Record<string, [number, number]>, extra = ''): string {
  // Two label sets per bound, as two routes would give; the parser must add them up.
  const lines = ['# TYPE outgrow_http_request_duration_seconds histogram']
  for (const [le, [a, b]] of Object.entries(buckets)) {
    lines.push(`outgrow_http_request_duration_seconds_bucket{le="${le}",method="GET",route="/a",status="2xx"} ${a}`)
    lines.push(`outgrow_http_request_duration_seconds_bucket{le="${le}",method="GET",route="/b",status="2xx"} ${b}`)
  }
  const inf = buckets['+Inf'] ?? [0, 0]
  lines.push(`outgrow_http_request_duration_seconds_count{method="GET",route="/a",status="2xx"} ${inf[0]}`)
  lines.push(`outgrow_http_request_duration_seconds_count{method="GET",route="/b",status="2xx"} ${inf[1]}`)
  return [...lines, extra].join('\n')
}

const FIRST = exposition({ 0.01: [50, 40], 0.1: [60, 45], 1: [60, 50], '+Inf': [60, 50] },
  '# TYPE outgrow_event_loop_utilization gauge\noutgrow_event_loop_utilization 0.42\n# TYPE outgrow_http_in_flight gauge\noutgrow_http_in_flight 7\nprocess_cpu_seconds_total 3')
// 1000 more requests: 900 under 10 ms, 80 in (10 ms, 100 ms], 20 in (100 ms, 1 s].
const SECOND = exposition({ 0.01: [550, 440], 0.1: [600, 485], 1: [610, 500], '+Inf': [610, 500] },
  'outgrow_event_loop_utilization 0.9\noutgrow_http_in_flight 3')

test('parses ELU, in-flight, the request count and the duration buckets summed over labels', () => {
  assert.deepEqual(parseInstanceMetrics(FIRST), {
    elu: 0.42,
    inFlight: 7,
    requestsTotal: 110,
    buckets: [{ le: 0.01, count: 90 }, { le: 0.1, count: 105 }, { le: 1, count: 110 }, { le: Infinity, count: 110 }],
  })
})

test('p99 between two scrapes interpolates inside the bucket holding the 99th percentile', () => {
  const p99 = quantileBetween(parseInstanceMetrics(FIRST).buckets, parseInstanceMetrics(SECOND).buckets, 0.99)
  // rank 990 of 1000: 980 are ≤ 100 ms, so it is the 10th of the 20 in (0.1, 1] → 0.1 + 0.9 × 10/20.
  assert.ok(p99 !== undefined && Math.abs(p99 - 0.55) < 1e-9, `p99 ${p99}`)
  assert.equal(quantileBetween(parseInstanceMetrics(FIRST).buckets, parseInstanceMetrics(SECOND).buckets, 0.5), 0.01 * 500 / 900)
})

test('p99 is undefined without requests in between, the top finite bound in +Inf, and from zero after a restart', () => {
  const first = parseInstanceMetrics(FIRST).buckets
  assert.equal(quantileBetween(first, first, 0.99), undefined)
  const slow = parseInstanceMetrics(exposition({ 0.01: [50, 40], 0.1: [60, 45], 1: [60, 50], '+Inf': [160, 150] })).buckets
  assert.equal(quantileBetween(first, slow, 0.99), 1)
  const restarted = parseInstanceMetrics(exposition({ 0.01: [5, 5], 0.1: [5, 5], 1: [5, 5], '+Inf': [5, 5] })).buckets
  assert.equal(quantileBetween(first, restarted, 0.99), 0.01 * 9.9 / 10)
})

test('scrapeInstanceMetrics reads GET /metrics (only the families it needs) and adds the p99 since the previous reading', async () => {
  let body = FIRST
  let asked: string[] = []
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://app')
    if (url.pathname !== '/metrics') { response.writeHead(404).end(); return }
    asked = url.searchParams.getAll('name[]')
    response.writeHead(200, { 'content-type': 'text/plain' }).end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const first = await scrapeInstanceMetrics(url)
    assert.equal(first.p99Seconds, undefined)
    assert.deepEqual(asked.sort(), ['outgrow_event_loop_utilization', 'outgrow_http_in_flight', 'outgrow_http_request_duration_seconds'])
    body = SECOND
    const second = await scrapeInstanceMetrics(url, first)
    assert.equal(second.inFlight, 3)
    assert.ok(second.p99Seconds !== undefined && Math.abs(second.p99Seconds - 0.55) < 1e-9)
    await assert.rejects(scrapeInstanceMetrics(`${url}/`.replace(/:\d+\//, ':1/')), (err: unknown) => err instanceof OutgrowError && err.code === 'OUTGROW_METRICS_UNAVAILABLE')
  } finally {
    await new Promise<void>((resolve) => server.close(() => { resolve() }))
  }
})

test('cgroup CPU: cpuacct.usage nanoseconds over elapsed time, per core of quota', async () => {
  assert.equal(parseCpuacctUsage('123456789\n'), 123456789)
  assert.throws(() => parseCpuacctUsage(''), OutgrowError)
  assert.throws(() => parseCpuacctUsage('abc\n'), OutgrowError)
  const dir = await mkdtemp(join(tmpdir(), 'cpuacct-'))
  try {
    await writeFile(join(dir, 'cpuacct.usage'), '1000000000\n')
    const before = await cgroupCpuUsage(dir, 10_000)
    await writeFile(join(dir, 'cpuacct.usage'), '1250000000\n')
    const after = await cgroupCpuUsage(dir, 11_000)
    // 0.25 CPU-seconds in 1 s on a 0.5-core quota: half the quota.
    assert.equal(cpuUtilization(before, after, 0.5), 0.5)
    assert.equal(cpuUtilization(after, after, 0.5), undefined)
    await assert.rejects(cgroupCpuUsage(join(dir, 'missing'), 0), OutgrowError)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
