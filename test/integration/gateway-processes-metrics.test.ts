import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { get } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { parsePrometheusText, sumSamples } from '../../src/lab/prometheus-text.js'
import { freePort } from '../../src/supervisor/free-port.js'
import { startBackend, type Backend } from '../helpers/backends.js'
import { CLI } from '../helpers/cli.js'

let dir = ''
let backend: Backend
let gateway: ChildProcess | undefined
let url = ''

/** One request on a connection of its own, so the kernel or the primary hands each to a worker anew. */
async function fetchOnce (path: string): Promise<{ status: number, body: string }> {
  return await new Promise((resolve, reject) => {
    get(`${url}${path}`, { agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => { body += d })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }) })
    }).on('error', reject)
  })
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outgrow-gw-procs-'))
  backend = await startBackend('m1')
  const file = join(dir, 'gateway.json')
  await writeFile(file, JSON.stringify({ port: await freePort(), processes: 2, upstreams: { instances: [{ id: 'm1', url: backend.url }] } }))
  const child = spawn(process.execPath, [CLI, 'gateway', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] })
  gateway = child
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      const line = d.toString().split('\n').find((l) => l.startsWith('{'))
      if (line !== undefined) resolve((JSON.parse(line) as { url: string }).url)
    })
    child.once('exit', (code) => { reject(new Error(`gateway exited ${String(code)}: ${stderr}`)) })
  })
})

after(async () => {
  if (gateway !== undefined && gateway.exitCode === null) {
    const exited = new Promise((resolve) => gateway?.once('exit', resolve))
    gateway.kill('SIGTERM')
    await exited
  }
  await backend.close()
  await rm(dir, { recursive: true, force: true })
})

test('a gateway of two processes: every scrape counts the requests of both', async () => {
  const n = 40
  for (let i = 0; i < n; i++) assert.equal((await fetchOnce(`/item/${i}`)).status, 200)
  assert.equal(backend.hits, n)
  // Several scrapes, each landing on whichever process accepts it: all must see the whole gateway.
  for (let i = 0; i < 4; i++) {
    const scrape = await fetchOnce('/__outgrow/metrics')
    assert.equal(scrape.status, 200, scrape.body)
    const samples = parsePrometheusText(scrape.body)
    assert.equal(sumSamples(samples, 'outgrow_gateway_processes'), 2, 'both processes answered the scrape')
    assert.equal(sumSamples(samples, 'outgrow_gateway_requests_total', { upstream: 'm1', status: '2xx' }), n)
    assert.equal(sumSamples(samples, 'outgrow_gateway_upstream_latency_seconds_count', { upstream: 'm1' }), n)
    assert.equal(sumSamples(samples, 'outgrow_gateway_upstream_healthy', { upstream: 'm1' }), 1, 'healthy in both processes')
    assert.ok(!/instance="/.test(scrape.body), 'no label named instance: Prometheus sets that one')
    // Process metrics are summed too: two processes have used CPU.
    assert.ok(sumSamples(samples, 'process_cpu_seconds_total') > 0)
  }
})
