import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parsePrometheusText, sumSamples } from '../../src/lab/prometheus-text.js'

test('parses samples with labels and sums by label filter', () => {
  const samples = parsePrometheusText([
    '# HELP outgrow_db_queries_total q',
    '# TYPE outgrow_db_queries_total counter',
    'outgrow_db_queries_total{target="primary"} 10',
    'outgrow_db_queries_total{target="replica"} 32',
    'outgrow_cache_requests_total{result="hit",note="a \\"quoted\\" value"} 5',
    'process_cpu_seconds_total 1.5',
  ].join('\n'))
  assert.equal(sumSamples(samples, 'outgrow_db_queries_total'), 42)
  assert.equal(sumSamples(samples, 'outgrow_db_queries_total', { target: 'replica' }), 32)
  assert.equal(samples.find((s) => s.name === 'outgrow_cache_requests_total')?.labels.note, 'a "quoted" value')
  assert.equal(sumSamples(samples, 'process_cpu_seconds_total'), 1.5)
})
