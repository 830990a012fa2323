import assert from 'node:assert/strict'
import { test } from 'node:test'
import Fastify from 'fastify'
import type { AutoscaleRecord } from '../../src/control/autoscaler/controller.js'
import { EventLog } from '../../src/control/event-log.js'
import type { StackInfo } from '../../src/control/stack.js'
import type { TopologySpec } from '../../src/control/spec.js'
import { DashboardCollector } from '../../src/dashboard/collector.js'
import type { DashboardHello } from '../../src/dashboard/sample.js'
import type { DashboardHost } from '../../src/dashboard/stack-host.js'
import { registerDashboardStream } from '../../src/dashboard/stream.js'
import { openSse } from '../helpers/sse.js'

test('the stream: hello first, then samples, event-log lines and new autoscaler records as they come; it ends when the API closes', { timeout: 10_000 }, async () => {
  const events = new EventLog(undefined)
  const records: AutoscaleRecord[] = [{ at: 1, group: 'services/app', current: 2, ready: 2, metrics: {}, decision: { desired: 2 } } as unknown as AutoscaleRecord]
  const info = { url: 'http://127.0.0.1:8080', processes: [{ name: 'app-1', role: 'app', server: 'app-1', pid: 1, state: 'ready', restarts: 0 }] } as unknown as StackInfo
  const host: DashboardHost = {
    spec: { level: 1, services: { app: { instances: { count: 1 } } }, workers: {} } as unknown as TopologySpec,
    events,
    autoscaleHistory: () => records,
    info: () => info,
    serverCpu: () => undefined,
    cacheRedis: () => undefined,
    jobStats: () => undefined,
  }
  const collector = new DashboardCollector({ host, intervalMs: 50, sources: () => ({ metrics: async () => '', postgres: async () => { throw new Error('none') }, redis: async () => { throw new Error('none') }, close: async () => {} }) })
  const app = Fastify()
  registerDashboardStream(app, host, collector)
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  const stream = await openSse(`${url}/dashboard/stream`, {})
  try {
    const hello = (await stream.next(() => true, 2000))
    assert.equal(hello.event, 'hello')
    const data = hello.data as DashboardHello
    assert.deepEqual(data.services, [{ name: 'app', replicas: 1, min: null, max: null }])
    assert.equal(data.autoscaler.length, 1)
    assert.equal(data.processes?.[0]?.status, 'healthy')
    await stream.next((e) => e.event === 'sample', 2000)
    events.append({ actor: 'dashboard', action: 'scale', result: 'requested', detail: 'app=2' })
    assert.equal(((await stream.next((e) => e.event === 'stack-event', 2000)).data as { detail: string }).detail, 'app=2')
    records.push({ ...records[0], at: 2 } as unknown as AutoscaleRecord)
    const record = await stream.next((e) => e.event === 'autoscale', 2000)
    assert.equal((record.data as AutoscaleRecord).at, 2, 'only the record that came after hello')
    assert.equal(stream.events.filter((e) => e.event === 'autoscale').length, 1)
  } finally {
    await app.close()
  }
  await Promise.race([stream.ended, new Promise((_resolve, reject) => setTimeout(() => { reject(new Error('still open')) }, 2000))])
  assert.equal(collector.running, false, 'closing the API stops the collector')
})

test('a watcher that goes away is let go: the collector stops once the last one left', { timeout: 10_000 }, async () => {
  const events = new EventLog(undefined)
  const info = { url: 'http://127.0.0.1:8080', processes: [] } as unknown as StackInfo
  const host: DashboardHost = {
    spec: { level: 1, services: {}, workers: {} } as unknown as TopologySpec,
    events,
    autoscaleHistory: () => [],
    info: () => info,
    serverCpu: () => undefined,
    cacheRedis: () => undefined,
    jobStats: () => undefined,
  }
  const collector = new DashboardCollector({ host, intervalMs: 50, idleStopMs: 100, sources: () => ({ metrics: async () => '', postgres: async () => { throw new Error('none') }, redis: async () => { throw new Error('none') }, close: async () => {} }) })
  const app = Fastify()
  registerDashboardStream(app, host, collector)
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  try {
    const stream = await openSse(`${url}/dashboard/stream`, {})
    await stream.next((e) => e.event === 'sample', 2000)
    assert.equal(collector.running, true)
    stream.close()
    const deadline = Date.now() + 2000
    while (collector.running && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    assert.equal(collector.running, false)
  } finally {
    await app.close()
  }
})
