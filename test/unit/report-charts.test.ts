import assert from 'node:assert/strict'
import { copyFile, mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'
import { rerenderReport } from '../../src/cli/report.js'
import type { Figure } from '../../src/lab/charts/figure.js'
import { renderFigures, renderSvg } from '../../src/lab/charts/render-svg.js'
import type { BenchReport, LevelResult } from '../../src/lab/report.js'
import { renderHtmlReport } from '../../src/lab/report-charts/html-report.js'
import { identifyReport, reportCharts } from '../../src/lab/report-charts/report-kinds.js'
import type { OpenLoopResult } from '../../src/lab/open-loop.js'

const fixtures = fileURLToPath(new URL('../../../test/fixtures/reports/', import.meta.url))

const latency = { count: 1000, meanMs: 4, p50Ms: 3.5, p90Ms: 7.25, p99Ms: 41.5, p999Ms: 88, maxMs: 120 }

function level (n: number, p99: number): LevelResult {
  const load: OpenLoopResult = {
    offeredRate: 200, achievedRate: 198.5, durationMs: 5000, sent: 1000, completed: 1000, ok: 990, answered: 995, latency: { ...latency, p99Ms: p99 },
    byAction: {}, errorsByKind: { '5xx:503': 5 }, instances: {}, sendLag: latency,
    seconds: [0, 1, 2, 3, 4].map((second) => ({ second, offered: 200, achieved: 198, p99Ms: p99 + second, p50Ms: 3 + second / 10, failed: 1, instances: undefined })),
    percentiles: [{ percentile: 50, ms: 3.5 }, { percentile: 90, ms: 7.25 }, { percentile: 99, ms: p99 }, { percentile: 99.9, ms: 88 }, { percentile: 100, ms: 120 }],
  }
  return {
    level: n,
    topology: { level: n, colocateDb: false, instances: 3, replicas: 1, workers: 1, gateway: true, redis: true, redisFailover: false, cache: 'redis', session: 'redis', jobs: 'bullmq' },
    emulation: 'none',
    load,
    server: { primaryQueriesPerSecond: 321, replicaQueriesPerSecond: 654, cacheHitRatio: 0.875, jobsCompleted: 9, requestsByInstance: {} },
    timeline: [2, 4].map((second) => ({ second, primaryQueriesPerSecond: 300, replicaQueriesPerSecond: 600, cacheHitRatio: 0.9, cpu: { 'server-1': 0.5, 'server-2': 0.25 } })),
  }
}

const levelsReport: BenchReport = {
  createdAt: '2026-01-01T00:00:00.000Z',
  machine: { cpu: 'test cpu', cores: 2, memoryGiB: 4, os: 'test os', node: 'v20' },
  settings: { rate: 200, durationSeconds: 5, warmupSeconds: 1, users: 8, connections: 16, products: 100, cpusPerServer: 0.25 },
  levels: [level(3, 41.5), level(4, 17.75)],
}

/** No element that would load anything: scripts, stylesheets, images or fonts from elsewhere. */
function assertSelfContained (html: string): void {
  assert.doesNotMatch(html, /<script|<link|<img|<iframe|@import|url\((?!#)/i, 'nothing embedded by reference')
  assert.equal(new Set(html.match(/\bid="[^"]+"/g)).size, html.match(/\bid="[^"]+"/g)?.length, 'ids unique across the inlined charts')
  assert.doesNotMatch(html, /(src|href)\s*=\s*["']?(https?:)?\/\//i, 'no URL to fetch')
}

test('every chart kind renders to one SVG document with its title and axis titles as text', async () => {
  const figures: Figure[] = [
    { kind: 'lines', name: 'a', title: 'Lines chart', xTitle: 'seconds axis', yTitle: 'latency axis', yLog: true, series: [{ name: 'L1', style: 'p99', points: [{ x: 0, y: 1 }, { x: 1, y: 0 }, { x: 2, y: 30 }] }], rules: [{ y: 10, label: 'objective' }] },
    { kind: 'percentiles', name: 'b', title: 'Percentile chart', series: [{ name: 'L1', points: [{ percentile: 50, ms: 2 }, { percentile: 99.9, ms: 40 }, { percentile: 100, ms: 50 }] }] },
    { kind: 'range-bars', name: 'c', title: 'Range chart', yTitle: 'capacity axis', bars: [{ label: 'L1', value: 36.8, min: 31.7, max: 41.9 }] },
    { kind: 'grouped-bars', name: 'd', title: 'Grouped chart', yTitle: 'queries axis', bars: [{ group: 'L1', series: 'primary', value: 5 }, { group: 'L1', series: 'replica', value: 7 }] },
  ]
  for (const figure of figures) {
    const svg = await renderSvg(figure)
    assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/, `${figure.kind}: an SVG document`)
    assert.ok(svg.trimEnd().endsWith('</svg>'), `${figure.kind}: closed`)
    assert.equal(svg.match(/<svg\b/g)?.length, 1, `${figure.kind}: one svg element`)
    assert.doesNotMatch(svg, /NaN|undefined/, `${figure.kind}: every coordinate a number`)
    assert.ok(svg.includes(`>${figure.title}</text>`), `${figure.kind}: title drawn`)
    const axes = figure.kind === 'lines' ? [figure.xTitle, figure.yTitle] : figure.kind === 'percentiles' ? ['percentile', 'latency ms (from intended send time)'] : [figure.yTitle]
    for (const axis of axes) assert.ok(svg.includes(`>${axis}</text>`), `${figure.kind}: axis "${axis}" labelled`)
  }
  const percentiles = await renderSvg(figures[1] as Figure)
  for (const tick of ['50%', '90%', '99%', '99.9%', '99.99%']) assert.ok(percentiles.includes(`>${tick}</text>`), `HDR axis tick ${tick}`)
})

test('the HTML report of a levels run is self-contained, has an SVG per chart and shows the figures\' numbers', async () => {
  const charts = reportCharts(identifyReport(levelsReport, 'test'))
  const names = charts.figures.map((f) => f.name)
  for (const name of ['latency-over-time', 'rate-over-time', 'latency-percentiles', 'server-cpu-over-time', 'queries-over-time', 'cache-hit-ratio-over-time', 'latency-per-level', 'queries-per-level', 'cache-hit-ratio']) {
    assert.ok(names.includes(name), `chart ${name}`)
  }
  const html = renderHtmlReport({ ...charts, figures: await renderFigures(charts.figures) })
  assertSelfContained(html)
  assert.equal(html.match(/<svg\b/g)?.length, charts.figures.length)
  for (const number of ['198.5', '41.5', '17.75', '321', '654', '0.88']) assert.ok(html.includes(`>${number}<`), `${number} shown`)
  assert.ok(html.includes('server-2'), 'CPU chart names the servers')
})

test('`outgrow report` renders a committed capacity JSON again: HTML, SVGs, and one charts section in its Markdown', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'outgrow-report-'))
  try {
    await copyFile(join(fixtures, 'capacity.json'), join(dir, 'capacity.json'))
    await copyFile(join(fixtures, 'capacity.md'), join(dir, 'capacity.md'))
    await rerenderReport(join(dir, 'capacity.json'), { markdown: true })
    const { charts, markdown } = await rerenderReport(join(dir, 'capacity.json'), { markdown: true })
    assert.equal(markdown, join(dir, 'capacity.md'))
    const files = await readdir(dir)
    for (const name of ['capacity.html', 'capacity-capacity-per-level.svg', 'capacity-p99-vs-offered.svg', 'capacity-achieved-vs-offered.svg', 'capacity-cpu-at-knee.svg']) assert.ok(files.includes(name), name)
    const html = await readFile(charts.html, 'utf8')
    assertSelfContained(html)
    assert.equal(html.match(/<svg\b/g)?.length, charts.svgs.length)
    for (const number of ['36.8 (31.7–41.9)', '86 (67.9–104)']) assert.ok(html.includes(number), `capacity ${number} in the table`)
    const bars = await readFile(join(dir, 'capacity-capacity-per-level.svg'), 'utf8')
    assert.ok(bars.includes('>36.8</text>') && bars.includes('>86</text>'), 'the medians label the bars')
    const md = await readFile(join(dir, 'capacity.md'), 'utf8')
    assert.ok(md.startsWith('# Outgrow capacity per level'), 'the report\'s own text kept')
    assert.equal(md.match(/## Charts/g)?.length, 1, 'rendering again replaces the section')
    assert.ok(md.includes('![Capacity per level (median of the runs, bar from min to max)](capacity-capacity-per-level.svg)'))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('a JSON that is no bench result is refused, naming the field', () => {
  assert.throws(() => identifyReport({ rows: [] }, 'x.json'), (err: Error & { code?: string, field?: string }) => err.code === 'OUTGROW_CONFIG_INVALID' && /x\.json/.test(err.message))
})

test('an autoscaling report gets its charts per scenario; series a report predates are left out, not drawn empty', async () => {
  const json = JSON.parse(await readFile(join(fixtures, 'autoscaling.json'), 'utf8')) as { scenarios: Array<{ contenders: Array<Record<string, unknown>> }> }
  const names = reportCharts(identifyReport(json, 'autoscaling.json')).figures.map((f) => f.name)
  assert.deepEqual(names, ['step-offered-rate', 'step-instances', 'step-p99', 'step-failures'])
  for (const c of json.scenarios[0]?.contenders ?? []) { delete c.p99PerSecond; delete c.failedPerSecond }
  const older = reportCharts(identifyReport(json, 'autoscaling.json'))
  assert.deepEqual(older.figures.map((f) => f.name), ['step-offered-rate', 'step-instances'])
  const html = renderHtmlReport({ ...older, figures: await renderFigures(older.figures) })
  assertSelfContained(html)
  assert.ok(html.includes('>hpa-default<'), 'contenders named in the table')
})
