import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, test } from 'node:test'
import { request } from 'undici'
import { loadStackConfig } from '../../src/config/load.js'
import { Stack } from '../../src/control/stack.js'
import { freePort } from '../../src/supervisor/free-port.js'
import { waitUntil } from '../helpers/wait.js'

const SHOP = fileURLToPath(new URL('../../examples/shop/service.js', import.meta.url))
const DASHBOARD = fileURLToPath(new URL('../../../docs/grafana/outgrow.json', import.meta.url))

let dir: string
let stack: Stack | undefined
let prometheus = ''
let url = ''

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outgrow-prometheus-'))
  const config = join(dir, 'outgrow.config.json')
  await writeFile(config, JSON.stringify({ app: { service: SHOP }, level: 1, port: await freePort(), seed: { products: 20, users: 2 } }))
  stack = new Stack({ loaded: await loadStackConfig(config), dataDir: join(dir, '.outgrow'), control: false, durable: false, prometheus: { scrapeIntervalSeconds: 1 } })
  const info = await stack.up()
  url = info.url
  prometheus = info.prometheus ?? ''
})

after(async () => {
  try {
    await stack?.down()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

interface QueryAnswer { status: string, error?: string, data?: { result: Array<{ metric: Record<string, string>, value: [number, string] }> } }

async function query (expr: string): Promise<QueryAnswer> {
  const res = await request(`${prometheus}/api/v1/query?query=${encodeURIComponent(expr)}`)
  return await res.body.json() as QueryAnswer
}

test('the stack\'s Prometheus scrapes the app through the service discovery file, and every dashboard query parses', async () => {
  assert.match(prometheus, /^http:\/\/127\.0\.0\.1:\d+$/)
  for (let i = 0; i < 5; i++) await (await request(`${url}/api/products`)).body.dump()
  const appUp = async (): Promise<boolean> => {
    const answer = await query('up{job="outgrow-app"}')
    return answer.data?.result.length === 1 && answer.data.result[0]?.value[1] === '1'
  }
  assert.ok(await waitUntil(appUp, 30_000, 250), `up{job="outgrow-app"} never became 1: ${JSON.stringify(await query('up'))}`)
  const series = (await query('up{job="outgrow-app"}')).data?.result[0]?.metric ?? {}
  assert.equal(series.level, '1')
  assert.equal(series.process, 'app-1')
  assert.ok(series.server !== undefined && series.stack !== undefined)
  const served = await query('sum(outgrow_http_request_duration_seconds_count{job="outgrow-app"})')
  assert.ok(Number(served.data?.result[0]?.value[1] ?? 0) >= 5, JSON.stringify(served))

  // Grafana's variables filled in as Grafana would; a query Prometheus cannot parse answers status "error".
  const text = (await readFile(DASHBOARD, 'utf8')).replaceAll('$__rate_interval', '15s').replaceAll('$stack', '.*')
  const exprs = [...text.matchAll(/"expr": ("(?:[^"\\]|\\.)*")/g)].map((m) => JSON.parse(m[1] as string) as string)
  assert.ok(exprs.length > 30)
  for (const expr of exprs) {
    const answer = await query(expr)
    assert.equal(answer.status, 'success', `${expr}: ${answer.error ?? ''}`)
  }
})
