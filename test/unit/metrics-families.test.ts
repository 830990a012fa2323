import assert from 'node:assert/strict'
import { test } from 'node:test'
import { INSTANCE_FAMILIES, parseInstanceMetrics } from '../../src/control/autoscaler/metrics-source.js'
import { APP_FAMILIES, parseAppMetrics } from '../../src/dashboard/readings.js'
import { cacheRequests, dbQueries, httpInFlight, httpRequests, jobRunSeconds, jobsProcessed, registry, reportJobQueue } from '../../src/runtime/metrics.js'
import { selectedMetricsText } from '../../src/runtime/metrics-selection.js'

// Every figure a reader takes from a full scrape, it must find in the families it selects.
test('the families the dashboard and the autoscaler select hold every figure they read', async () => {
  httpRequests.observe({ method: 'GET', route: '/a', status: '2xx' }, 0.004)
  httpRequests.observe({ method: 'POST', route: '/b', status: '5xx' }, 0.3)
  httpInFlight.inc(2)
  dbQueries.inc({ target: 'primary' }, 7)
  dbQueries.inc({ target: 'replica' }, 3)
  cacheRequests.inc({ result: 'hit' }, 5)
  cacheRequests.inc({ result: 'miss' }, 1)
  jobsProcessed.inc({ name: 'receipt', outcome: 'completed' }, 4)
  jobRunSeconds.observe({ name: 'receipt', outcome: 'completed' }, 0.02)
  reportJobQueue('orders', async () => ({ waiting: 3, active: 1, delayed: 0, failed: 2, oldestWaitingSeconds: 1.5 }))

  const full = await registry.metrics()
  const withoutElu = <T extends { elu: number }>(reading: T): Omit<T, 'elu'> => { const { elu: _elu, ...rest } = reading; return rest }

  const app = parseAppMetrics(await selectedMetricsText(registry, APP_FAMILIES), 0)
  assert.deepEqual(withoutElu(app), withoutElu(parseAppMetrics(full, 0)))
  assert.equal(app.dbPrimary, 7)
  assert.equal(app.errors, 1)
  assert.equal(app.queues.get('orders')?.failed, 2)
  assert.ok(app.jobRuns >= 1)

  const instance = parseInstanceMetrics(await selectedMetricsText(registry, INSTANCE_FAMILIES))
  assert.deepEqual(withoutElu(instance), withoutElu(parseInstanceMetrics(full)))
  assert.equal(instance.inFlight, 2)
  assert.equal(instance.requestsTotal, 2)
})
