import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, test } from 'node:test'
import { request } from 'undici'
import { postgresDataRoot } from '../../src/supervisor/engines/pg-data-root.js'
import { freePort } from '../../src/supervisor/free-port.js'
import { shopClient } from '../helpers/http-client.js'
import { CLI, cliOutput, isAlive, startCli, waitFor, type RunningCli } from '../helpers/cli.js'

const SHOP_SERVICE = fileURLToPath(new URL('../../examples/shop/service.js', import.meta.url))

let cwd: string
let port: number
let cli: RunningCli

interface ProcessStatus { name: string, role: string, state: string, restarts: number, pid: number }

async function status (): Promise<ProcessStatus[]> {
  return (JSON.parse(await cliOutput(['status', '--json'], cwd)) as { processes: ProcessStatus[] }).processes
}

const call = shopClient(() => `http://127.0.0.1:${port}`)

/** Steady traffic from 8 concurrent clients (reads and cart writes) until stopped; returns the failures. */
function steadyLoad (cookie: string): { stop: () => Promise<{ sent: number, failures: string[] }> } {
  let stopping = false
  let sent = 0
  const failures: string[] = []
  const client = async (c: number): Promise<void> => {
    while (!stopping) {
      const n = sent++
      // The cart is emptied now and then so that it never reaches its per-product limit.
      const res = n % 200 === 0
        ? await call('DELETE', '/api/cart', cookie).catch((err: Error) => ({ status: 0, json: { error: err.message } }))
        : n % 4 === 0
        ? await call('POST', '/api/cart/items', cookie, { productId: 1 + (n % 40), qty: 1 }).catch((err: Error) => ({ status: 0, json: { error: err.message } }))
        : await call('GET', `/api/products/${1 + ((n * 7 + c) % 100)}`).catch((err: Error) => ({ status: 0, json: { error: err.message } }))
      if (res.status < 200 || res.status > 204) failures.push(`${n}: ${res.status} ${JSON.stringify(res.json)}`)
    }
  }
  const clients = Array.from({ length: 8 }, async (_, c) => { await client(c) })
  return { stop: async () => { stopping = true; await Promise.all(clients); return { sent, failures } } }
}

before(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'outgrow-control-'))
  port = await freePort()
  // Level 4 without HA: this file exercises the control plane on a fixed primary and its replicas,
  // and on Redis without Sentinel, so `redis` is one process to kill (test/integration/ha-stack.test.ts
  // and the level 4 e2e test run the HA layout).
  cli = await startCli(['up', '--level', '4', '--no-ha', '--port', String(port), '--products', '300', '--users', '20', '--cpus', '1'], cwd)
})

after(async () => {
  if (cli.child.exitCode === null) cli.child.kill('SIGKILL')
  // The cwd is private (0700), as a home dir is: PostgreSQL's clusters were kept outside it.
  await rm(postgresDataRoot(join(cwd, '.outgrow')), { recursive: true, force: true })
  await rm(cwd, { recursive: true, force: true })
})

test('status lists every process with its server, pid, address and state; the control API refuses a missing token', async () => {
  const processes = await status()
  assert.deepEqual(processes.map((p) => p.name), ['app-1', 'app-2', 'app-3', 'gateway', 'postgres-primary', 'postgres-replica-1', 'redis', 'worker-1'])
  assert.ok(processes.every((p) => p.state === 'ready' && p.pid > 0))
  const table = await cliOutput(['status'], cwd)
  assert.match(table, /NAME\s+ROLE\s+SERVER\s+PID\s+ADDRESS\s+STATE\s+RESTARTS/)
  assert.match(table, /^HA: off/m)
  assert.match(table, /postgres-replica-1\s+postgres\s+db-replica-1\s+\d+\s+postgres:\/\//)
  const endpoint = JSON.parse(await readFile(join(cwd, '.outgrow', 'control.json'), 'utf8')) as { url: string }
  const anonymous = await request(new URL('/v1/status', endpoint.url))
  assert.equal(anonymous.statusCode, 401)
  await anonymous.body.dump()
})

test('a second up on the same data dir is refused and leaves the running stack alone', async () => {
  const second = spawnSync(process.execPath, [CLI, 'up', '--level', '4', '--port', String(await freePort())], { cwd, encoding: 'utf8' })
  assert.equal(second.status, 1)
  assert.match(second.stderr, /^OUTGROW_STACK_RUNNING: a stack \(supervisor pid \d+\) already runs on /m)
  assert.equal((await status()).length, 8, 'the running stack still answers')
})

test('scale from 3 to 6 and back to 2 under load fails no request', async () => {
  const login = await call('POST', '/api/login', '', { email: 'user3@example.com', password: 'password123' })
  assert.equal(login.status, 200)
  const load = steadyLoad(login.cookie)
  await new Promise((resolve) => setTimeout(resolve, 500))
  await cliOutput(['scale', 'app=6', '--wait'], cwd)
  assert.equal((await status()).filter((p) => p.role === 'app' && p.state === 'ready').length, 6)
  await new Promise((resolve) => setTimeout(resolve, 1500))
  await cliOutput(['scale', 'app=2', '--wait'], cwd)
  await new Promise((resolve) => setTimeout(resolve, 1000))
  const { sent, failures } = await load.stop()
  assert.ok(sent > 200, `load ran through both changes (${sent} requests)`)
  assert.deepEqual(failures, [])
  assert.deepEqual((await status()).filter((p) => p.role === 'app').map((p) => p.name), ['app-1', 'app-2'])
  const events = await cliOutput(['events'], cwd)
  assert.match(events, /cli\s+scale\s+ok\s+app=6/)
  assert.match(events, /reconciler\s+stop\s+app-6\s+ok/)
})

test('a scale that cannot work is refused with the field named, and changes nothing', async () => {
  await assert.rejects(cliOutput(['scale', 'worker=0'], cwd), (err: Error & { stderr?: string }) => /^OUTGROW_TOPOLOGY_REFUSED: topology refused: workers: /.test(err.stderr ?? ''))
  await assert.rejects(cliOutput(['scale', 'nosuch=2'], cwd), (err: Error & { stderr?: string }) => /OUTGROW_TOPOLOGY_REFUSED: topology refused: nosuch: /.test(err.stderr ?? ''))
  assert.equal((await status()).filter((p) => p.role === 'worker').length, 1)
})

for (const victim of ['redis', 'postgres-primary']) {
  test(`kill -9 of ${victim}: reads keep being served, the supervisor restarts it, status and events show it`, async () => {
    const before = (await status()).find((p) => p.name === victim) as ProcessStatus
    process.kill(before.pid, 'SIGKILL')
    const reads: number[] = []
    for (let i = 0; i < 30; i++) {
      reads.push((await call('GET', `/api/products/${1 + (i % 30)}`)).status)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    assert.deepEqual(reads.filter((s) => s !== 200), [], 'product pages stay up')
    let now: ProcessStatus | undefined
    assert.ok(await waitForAsync(async () => {
      now = (await status()).find((p) => p.name === victim)
      return now?.state === 'ready' && now.restarts === before.restarts + 1
    }, 30_000), `${victim} restarted: ${JSON.stringify(now)}`)
    const events = await cliOutput(['events', '--json'], cwd)
    assert.match(events, new RegExp(`"action":"exited","target":"${victim}","result":"observed","detail":"SIGKILL"`))
    assert.match(events, new RegExp(`"action":"restart","target":"${victim}","result":"ok"`))
    const login = await call('POST', '/api/login', '', { email: 'user4@example.com', password: 'password123' })
    assert.equal(login.status, 200, 'sessions and writes work again')
  })
}

test('apply -f changes the running stack: a second replica joins, instances roll over to it under load with no failed request', async () => {
  const before = await status()
  const config = join(cwd, 'outgrow.config.json')
  await writeFile(config, JSON.stringify({
    app: { service: SHOP_SERVICE }, level: 4, ha: false, port, replicas: 2, instances: 2,
    emulation: { cpusPerServer: 1 }, seed: { products: 300, users: 20 },
  }))
  const login = await call('POST', '/api/login', '', { email: 'user6@example.com', password: 'password123' })
  const load = steadyLoad(login.cookie)
  assert.match(await cliOutput(['apply', '-f', config, '--wait'], cwd), /start postgres-replica-2[\s\S]*converged/)
  await new Promise((resolve) => setTimeout(resolve, 500))
  const { failures } = await load.stop()
  assert.deepEqual(failures, [])
  const after = await status()
  assert.equal(after.find((p) => p.name === 'postgres-replica-2')?.state, 'ready')
  for (const name of ['app-1', 'app-2']) {
    assert.notEqual(after.find((p) => p.name === name)?.pid, before.find((p) => p.name === name)?.pid, `${name} was replaced to read from the new replica`)
  }
  assert.equal(after.find((p) => p.name === 'postgres-primary')?.pid, before.find((p) => p.name === 'postgres-primary')?.pid, 'the primary was left alone')
  assert.match(await cliOutput(['logs', 'redis', '--lines', '200'], cwd), /Ready to accept connections/)
  await assert.rejects(cliOutput(['logs', 'nosuch'], cwd), (err: Error & { stderr?: string }) => /OUTGROW_NOT_FOUND/.test(err.stderr ?? ''))
})

let orderId: number
test('data lasts: an order placed before Ctrl-C is there after the next up', async () => {
  const login = await call('POST', '/api/login', '', { email: 'user5@example.com', password: 'password123' })
  const added = await call('POST', '/api/cart/items', login.cookie, { productId: 42, qty: 1 })
  assert.equal(added.status, 201)
  const order = await call('POST', '/api/orders', added.cookie)
  assert.equal(order.status, 201)
  orderId = order.json.id as number
  const pids = (await status()).map((p) => p.pid)
  const exited = new Promise<number | null>((resolve) => cli.child.once('exit', resolve))
  const stoppedAt = Date.now()
  cli.child.kill('SIGINT')
  assert.equal(await exited, 0)
  assert.ok(Date.now() - stoppedAt < 15_000, `stopped in ${Date.now() - stoppedAt} ms`)
  assert.ok(await waitFor(() => pids.every((pid) => !isAlive(pid)), 5000), 'every process stopped')

  cli = await startCli(['up', '--level', '4', '--no-ha', '--port', String(port), '--products', '300', '--users', '20', '--cpus', '1'], cwd)
  assert.doesNotMatch(cli.stderr(), /seeded/, 'an existing database is not seeded again')
  const again = await call('POST', '/api/login', '', { email: 'user5@example.com', password: 'password123' })
  assert.equal(again.status, 200)
  const history = await call('GET', '/api/orders', again.cookie)
  assert.ok((history.json.items as Array<{ id: number }>).some((o) => o.id === orderId), `order ${orderId} survived the restart: ${JSON.stringify(history.json)}`)
})

test('outgrow down stops the stack in order and keeps the data', async () => {
  const pids = (await status()).map((p) => p.pid)
  const exited = new Promise<number | null>((resolve) => cli.child.once('exit', resolve))
  assert.match(await cliOutput(['down'], cwd), /stopped/)
  assert.equal(await exited, 0)
  assert.ok(await waitFor(() => pids.every((pid) => !isAlive(pid)), 5000))
  await assert.rejects(cliOutput(['status'], cwd), (err: Error & { stderr?: string }) => /OUTGROW_CONTROL_UNAVAILABLE/.test(err.stderr ?? ''))
  const events = await readFile(join(cwd, '.outgrow', 'events.jsonl'), 'utf8')
  assert.match(events, /"actor":"cli","action":"down","result":"ok"/)
})

async function waitForAsync (check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return true
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  return await check()
}
