import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { request } from 'undici'
import { loadStackConfig } from '../../src/config/load.js'
import { readControlEndpoint } from '../../src/control/control-files.js'
import type { StackEvent } from '../../src/control/event-log.js'
import { Stack } from '../../src/control/stack.js'
import type { DashboardHello, DashboardSample, ProcessView } from '../../src/dashboard/sample.js'
import { freePort } from '../../src/supervisor/free-port.js'
import { cliOutput } from '../helpers/cli.js'
import { openSse, type SseReader } from '../helpers/sse.js'

const SHOP = fileURLToPath(new URL('../../examples/shop/service.js', import.meta.url))

let dir: string
let stack: Stack
let url: string
let control: string
let token: string
let stream: SseReader | undefined

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outgrow-dashboard-'))
  const config = join(dir, 'outgrow.config.json')
  // Level 4 without HA, replicas or more than one worker: a gateway in front of two instances, PostgreSQL and Redis.
  await writeFile(config, JSON.stringify({ app: { service: SHOP }, level: 4, ha: false, instances: 2, replicas: 0, workers: 1, port: await freePort(), seed: { products: 50, users: 20 }, emulation: { mode: 'none' } }))
  stack = new Stack({ loaded: await loadStackConfig(config), dataDir: join(dir, 'data'), durable: false })
  url = (await stack.up()).url
  const endpoint = readControlEndpoint(join(dir, 'data'))
  assert.ok(endpoint !== undefined)
  control = endpoint.url
  token = endpoint.token
})

after(async () => {
  stream?.close()
  try {
    await (stack as Stack | undefined)?.down()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

const bearer = (): Record<string, string> => ({ authorization: `Bearer ${token}` })
const samples = (): DashboardSample[] => (stream?.events ?? []).filter((e) => e.event === 'sample').map((e) => e.data as DashboardSample)
const processIn = (s: DashboardSample, name: string): ProcessView | undefined => s.processes.find((p) => p.name === name)

async function browse (count: number): Promise<void> {
  await Promise.all(Array.from({ length: 4 }, async () => {
    for (let i = 0; i < count / 4; i++) await (await request(`${url}/api/products?page=${1 + (i % 3)}`)).body.text()
  }))
}

test('hello lists the processes; a sample arrives within 1.5 s and shows the instances serving', { timeout: 30_000 }, async () => {
  const res = await request(`${control}/dashboard/api/hello`, { headers: bearer() })
  assert.equal(res.statusCode, 200)
  const hello = await res.body.json() as DashboardHello
  const names = (hello.processes ?? []).map((p) => p.name)
  for (const name of ['app-1', 'app-2', 'gateway', 'postgres-primary']) assert.ok(names.includes(name), `${name} in ${names.join(', ')}`)
  assert.deepEqual(hello.services.find((s) => s.name === 'app'), { name: 'app', replicas: 2, min: null, max: null })
  assert.ok(hello.scenarios.includes('kill-instance'))

  const opened = Date.now()
  stream = await openSse(`${control}/dashboard/stream`, bearer())
  assert.equal(stream.status, 200)
  assert.equal(stream.events[0]?.event ?? (await stream.next(() => true, 1000)).event, 'hello')
  const first = await stream.next((e) => e.event === 'sample', 1500)
  assert.ok(first.at - opened <= 1500, `first sample after ${first.at - opened} ms`)

  const from = stream.events.length
  await browse(80)
  const busy = await stream.next((e) => e.event === 'sample' && (e.data as DashboardSample).instances.some((i) => i.requestsPerSecond > 0), 5000, from)
  const sample = busy.data as DashboardSample
  assert.ok(sample.instances.length === 2, JSON.stringify(sample.instances))
  assert.ok(sample.total.requestsPerSecond > 0, 'the gateway saw the requests')
  assert.ok(sample.edges.some((e) => e.from === 'gateway' && e.to.startsWith('app-') && e.perSecond > 0), JSON.stringify(sample.edges))
  assert.ok(sample.database.some((d) => d.role === 'primary' && d.connections > 0), JSON.stringify(sample.database))
  assert.equal(processIn(sample, 'app-1')?.status, 'healthy')
  assert.equal(processIn(sample, 'postgres-primary')?.dataRole, 'primary')
})

test('scale through /v1/scale shows up in the event stream and the processes', { timeout: 60_000 }, async () => {
  const s = stream as SseReader
  const from = s.events.length
  const res = await request(`${control}/v1/scale`, { method: 'POST', headers: { ...bearer(), 'content-type': 'application/json', 'x-outgrow-actor': 'dashboard' }, body: JSON.stringify({ targets: { app: 3 } }) })
  assert.equal(res.statusCode, 200, await res.body.text())
  const event = await s.next((e) => e.event === 'stack-event' && (e.data as StackEvent).action === 'scale', 2000, from)
  assert.equal((event.data as StackEvent).actor, 'dashboard')
  await s.next((e) => e.event === 'sample' && processIn(e.data as DashboardSample, 'app-3')?.status === 'healthy', 45_000, from)
})

test('kill: the instance goes dead or restarting, then healthy with one restart more; an unknown name is 404', { timeout: 60_000 }, async () => {
  const s = stream as SseReader
  const before = stack.info().processes.find((p) => p.name === 'app-1')?.restarts ?? -1
  const from = s.events.length
  const res = await request(`${control}/v1/processes/app-1/kill`, { method: 'POST', headers: bearer() })
  assert.equal(res.statusCode, 200, await res.body.text())
  await s.next((e) => e.event === 'stack-event' && (e.data as StackEvent).action === 'kill' && (e.data as StackEvent).actor === 'cli', 2000, from)
  const back = await s.next((e) => e.event === 'sample' && processIn(e.data as DashboardSample, 'app-1')?.restarts === before + 1 && processIn(e.data as DashboardSample, 'app-1')?.status === 'healthy', 45_000, from)
  const between = samples().slice(0).filter((x) => x.t <= (back.data as DashboardSample).t).map((x) => processIn(x, 'app-1')?.status)
  assert.ok(between.includes('dead') || between.includes('restarting'), `seen: ${between.slice(-10).join(', ')}`)
  const missing = await request(`${control}/v1/processes/no-such/kill`, { method: 'POST', headers: bearer() })
  assert.equal(missing.statusCode, 404)
  assert.equal((await missing.body.json() as { error: { code: string } }).error.code, 'OUTGROW_NOT_FOUND')
})

test('a chaos scenario runs in the supervisor, one at a time, its start and verdict in the event log', { timeout: 60_000 }, async () => {
  const s = stream as SseReader
  const from = s.events.length
  const post = async (body: unknown): Promise<{ status: number, body: { error?: { code: string } } }> => {
    const res = await request(`${control}/v1/chaos`, { method: 'POST', headers: { ...bearer(), 'content-type': 'application/json', 'x-outgrow-actor': 'dashboard' }, body: JSON.stringify(body) })
    return { status: res.statusCode, body: await res.body.json() as { error?: { code: string } } }
  }
  const bad = await post({ scenario: 'kill-everything' })
  assert.equal(bad.status, 400)
  assert.match(JSON.stringify(bad.body), /scenario/)
  assert.equal((await post({ scenario: 'kill-worker', durationSeconds: 2, rate: 10 })).status, 202)
  const again = await post({ scenario: 'kill-instance' })
  assert.deepEqual([again.status, again.body.error?.code], [409, 'OUTGROW_CHAOS_RUNNING'])
  const started = await s.next((e) => e.event === 'stack-event' && (e.data as StackEvent).action === 'chaos', 2000, from)
  assert.deepEqual([(started.data as StackEvent).actor, (started.data as StackEvent).result], ['dashboard', 'requested'])
  const verdict = await s.next((e) => e.event === 'stack-event' && (e.data as StackEvent).action === 'chaos' && (e.data as StackEvent).result !== 'requested', 45_000, from)
  const state = await (await request(`${control}/v1/chaos`, { headers: bearer() })).body.json() as { running: unknown, last: { scenario: string, safe: boolean | null, error: string | null } }
  assert.equal(state.running, null)
  assert.equal(state.last.scenario, 'kill-worker')
  assert.equal((verdict.data as StackEvent).result, 'ok', `${(verdict.data as StackEvent).detail ?? ''}`)
  assert.equal(state.last.safe, true)
})

test('the CLI prints the dashboard URL; a rolling restart of an unknown service is refused naming it', { timeout: 30_000 }, async () => {
  const printed = (await cliOutput(['dashboard', '--data-dir', join(dir, 'data')], dir)).trim()
  assert.equal(printed, `${control}/dashboard?token=${encodeURIComponent(token)}`)
  assert.equal(printed, stack.dashboardUrl)
  const restarted = await request(`${control}/v1/rolling-restart`, { method: 'POST', headers: { ...bearer(), 'content-type': 'application/json' }, body: JSON.stringify({ services: ['nope'] }) })
  assert.equal(restarted.statusCode, 422)
  assert.match(await restarted.body.text(), /nope/)
})

test('auth: no token is 401 (an HTML page for /dashboard); ?token= sets the cookie; the cookie needs its own Origin to change anything; foreign Hosts are refused', { timeout: 30_000 }, async () => {
  const page = await request(`${control}/dashboard`)
  assert.equal(page.statusCode, 401)
  assert.match(String(page.headers['content-type']), /text\/html/)
  assert.match(await page.body.text(), /outgrow dashboard/)
  const api = await request(`${control}/v1/status`)
  assert.equal(api.statusCode, 401)
  assert.equal((await api.body.json() as { error: { code: string } }).error.code, 'OUTGROW_UNAUTHENTICATED')
  const wrong = await request(`${control}/dashboard?token=nope`)
  assert.equal(wrong.statusCode, 401)
  await wrong.body.text()

  const signIn = await request(`${control}/dashboard?token=${encodeURIComponent(token)}`)
  await signIn.body.text()
  assert.equal(signIn.statusCode, 303)
  assert.equal(signIn.headers.location, '/dashboard')
  const setCookie = String(signIn.headers['set-cookie'])
  assert.match(setCookie, /HttpOnly/)
  assert.match(setCookie, /SameSite=Strict/)
  const cookie = setCookie.split(';')[0] as string

  const hello = await request(`${control}/dashboard/api/hello`, { headers: { cookie } })
  assert.equal(hello.statusCode, 200)
  await hello.body.text()
  const scale = async (headers: Record<string, string>): Promise<{ status: number, code: string | undefined }> => {
    const res = await request(`${control}/v1/scale`, { method: 'POST', headers: { cookie, 'content-type': 'application/json', ...headers }, body: JSON.stringify({ targets: { app: 3 } }) })
    const body = await res.body.json() as { error?: { code: string } }
    return { status: res.statusCode, code: body.error?.code }
  }
  assert.deepEqual(await scale({}), { status: 403, code: 'OUTGROW_ORIGIN_REFUSED' })
  assert.deepEqual(await scale({ origin: 'http://evil.example' }), { status: 403, code: 'OUTGROW_ORIGIN_REFUSED' })
  assert.equal((await scale({ origin: new URL(control).origin })).status, 200)

  const rebound = await request(`${control}/v1/status`, { headers: { ...bearer(), host: `evil.example:${new URL(control).port}` } })
  assert.equal(rebound.statusCode, 403)
  assert.equal((await rebound.body.json() as { error: { code: string } }).error.code, 'OUTGROW_HOST_REFUSED')
  const local = await request(`${control}/v1/status`, { headers: { ...bearer(), host: `localhost:${new URL(control).port}` } })
  assert.equal(local.statusCode, 200)
  await local.body.text()
  const unauthenticatedStream = await request(`${control}/dashboard/stream`)
  assert.equal(unauthenticatedStream.statusCode, 401)
  await unauthenticatedStream.body.text()
})

test('the stream ends cleanly when the stack goes down', { timeout: 60_000 }, async () => {
  const s = stream as SseReader
  await stack.down()
  await Promise.race([s.ended, new Promise((_resolve, reject) => setTimeout(() => { reject(new Error('the stream is still open')) }, 5000))])
})
