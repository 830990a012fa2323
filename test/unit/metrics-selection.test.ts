import assert from 'node:assert/strict'
import { test } from 'node:test'
import pino from 'pino'
import client from 'prom-client'
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
    // A family whose collection counts: a selection that leaves it out must not collect it.
    let collected = 0
    const counting = new client.Gauge({ name: 'selection_test_collections', help: 'test', registers: [registry], collect () { collected++ } })
    const whole = await request(`${base}/metrics`)
    const wholeText = await whole.body.text()
    const all = familiesOf(wholeText)
    assert.ok(all.length > 20 && all.includes('process_cpu_user_seconds_total'), 'without a selection every family is sent')
    assert.equal(collected, 1)

    const url = selectingFamilies(`${base}/metrics`, ['outgrow_db_queries_total', 'outgrow_http_in_flight', 'outgrow_no_such_family'])
    const selected = await request(url)
    assert.equal(selected.statusCode, 200)
    assert.match(String(selected.headers['content-type']), /^text\/plain/)
    const text = await selected.body.text()
    assert.deepEqual(familiesOf(text), ['outgrow_db_queries_total', 'outgrow_http_in_flight'], 'only the named families, an unknown name left out')
    assert.match(text, /^outgrow_db_queries_total\{target="primary"\} \d+$/m)
    // The same text as those families' blocks in a full scrape.
    const block = (family: string): string => wholeText.split('\n\n').find((b) => b.startsWith(`# HELP ${family} `)) ?? `no ${family} block`
    assert.equal(text, `${block('outgrow_db_queries_total')}\n\n${block('outgrow_http_in_flight')}\n`)
    assert.equal(collected, 1, 'a family left out of the selection is not collected')
    registry.removeSingleMetric('selection_test_collections')
    void counting

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
