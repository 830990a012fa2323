import assert from 'node:assert/strict'
import { test } from 'node:test'
import pino from 'pino'
import { request } from 'undici'
import { selectingFamilies } from '../../src/lab/prometheus-text.js'
import { createAppServer } from '../../src/runtime/app-server.js'
import { dbQueries, registry } from '../../src/runtime/metrics.js'
import { requestedMetricNames } from '../../src/runtime/metrics-selection.js'
import type { Ports } from '../../src/runtime/ports.js'
import { defineService } from '../../src/runtime/service.js'
import { MemorySessionStore } from '../../src/session/memory-store.js'

/** The metric family names in a Prometheus text (from its TYPE lines). */
function familiesOf (text: string): string[] {
  return [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1] as string).sort()
}

test('name[] selects metric families; none selected means all; a bad name is a 400 that names the field', async () => {
  const service = defineService({ name: 'metrics-selection', routes () {} })
  const ports = { instanceId: 'selection-1', adminToken: 'x'.repeat(8), log: pino({ level: 'silent' }) } as unknown as Ports
  const server = await createAppServer({ service, ports, sessionStore: new MemorySessionStore(60), sessionTtlSeconds: 60 })
  const base = await server.app.listen({ host: '127.0.0.1', port: 0 })
  try {
    dbQueries.inc({ target: 'primary' }, 3)
    const whole = await request(`${base}/metrics`)
    const all = familiesOf(await whole.body.text())
    assert.ok(all.length > 20 && all.includes('process_cpu_user_seconds_total'), 'without a selection every family is sent')

    const url = selectingFamilies(`${base}/metrics`, ['outgrow_db_queries_total', 'outgrow_http_in_flight', 'outgrow_no_such_family'])
    const selected = await request(url)
    assert.equal(selected.statusCode, 200)
    assert.match(String(selected.headers['content-type']), /^text\/plain/)
    const text = await selected.body.text()
    assert.deepEqual(familiesOf(text), ['outgrow_db_queries_total', 'outgrow_http_in_flight'], 'only the named families, an unknown name left out')
    assert.match(text, /^outgrow_db_queries_total\{target="primary"\} \d+$/m)
    assert.equal(text, `${await registry.getSingleMetricAsString('outgrow_db_queries_total')}\n\n${await registry.getSingleMetricAsString('outgrow_http_in_flight')}\n`)

    const bad = await request(`${base}/metrics?name[]=${encodeURIComponent('up{job="x"}')}`)
    assert.equal(bad.statusCode, 400)
    const body = await bad.body.json() as { error: { code: string, message: string } }
    assert.equal(body.error.code, 'OUTGROW_BAD_REQUEST')
    assert.match(body.error.message, /name\[\]/)
  } finally {
    await server.app.close()
  }
})

test('requestedMetricNames: one name or many, duplicates once, anything else undefined', () => {
  assert.equal(requestedMetricNames(undefined), undefined)
  assert.equal(requestedMetricNames({}), undefined)
  assert.equal(requestedMetricNames({ name: 'x' }), undefined, 'only name[] selects, as in the Prometheus clients')
  assert.deepEqual(requestedMetricNames({ 'name[]': 'a_total' }), ['a_total'])
  assert.deepEqual(requestedMetricNames({ 'name[]': ['a', 'b:c', 'a'] }), ['a', 'b:c'])
  assert.throws(() => requestedMetricNames({ 'name[]': ['a', '9lives'] }), /name\[\] must be a metric name/)
  assert.throws(() => requestedMetricNames({ 'name[]': '' }), /name\[\]/)
})
