import assert from 'node:assert/strict'
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { freePort } from '../../src/supervisor/free-port.js'
import { shopClient } from '../helpers/http-client.js'
import { cliOutput, isAlive, processesIn, startCli, waitFor, type RunningCli } from '../helpers/cli.js'
import { waitUntil } from '../helpers/wait.js'

let cwd: string
let cli: RunningCli
let base: string

before(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'outgrow-e2e-'))
  await chmod(cwd, 0o755)
  const port = await freePort()
  cli = await startCli(['up', '--level', '4', '--port', String(port), '--products', '500', '--users', '30', '--cpus', '1'], cwd)
  base = cli.ready.url
})

after(async () => {
  if (cli.child.exitCode === null) cli.child.kill('SIGKILL')
  // The last test kills the supervisor: its engines may still be on their way out.
  await rm(cwd, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 })
})

const call = shopClient(() => base)

interface ProcessStatus { name: string, state: string, restarts: number, pid: number, detail?: string, ha?: { role: string, pids: Record<string, number | undefined> } }

/** What runs now, as `outgrow status` reports it: no test relies on what an earlier one changed. */
async function status (): Promise<ProcessStatus[]> {
  return (JSON.parse(await cliOutput(['status', '--json'], cwd)) as { processes: ProcessStatus[] }).processes
}

test('level 4 runs the whole topology: gateway, 3 instances, PostgreSQL as two HA nodes over 3 etcd members, Redis with a replica and 3 Sentinels, a worker', () => {
  const names = cli.ready.processes.map((p) => p.name).sort()
  assert.deepEqual(names, ['app-1', 'app-2', 'app-3', 'etcd-1', 'etcd-2', 'etcd-3', 'gateway', 'postgres-1', 'postgres-2', 'redis-1', 'redis-2', 'redis-sentinel-1', 'redis-sentinel-2', 'redis-sentinel-3', 'worker-1'])
  assert.match(cli.stderr(), /servers emulated by/)
})

test('status shows the current role of each Redis data node and that Redis fails over', async () => {
  let roles: Array<string | undefined> = []
  for (let attempt = 0; attempt < 50 && roles.join() !== 'master,replica'; attempt++) {
    const processes = await status()
    roles = ['redis-1', 'redis-2'].map((n) => processes.find((p) => p.name === n)?.detail)
    if (roles.join() !== 'master,replica') await new Promise((resolve) => setTimeout(resolve, 200))
  }
  assert.deepEqual(roles, ['master', 'replica'])
  assert.match(await cliOutput(['status'], cwd), /redis failover: sentinel/)
})

test('requests through the gateway spread over every instance', async () => {
  const seen = new Map<string, number>()
  for (let i = 0; i < 30; i++) {
    const res = await call('GET', `/api/products/${1 + (i % 10)}`)
    assert.equal(res.status, 200)
    seen.set(res.instance, (seen.get(res.instance) ?? 0) + 1)
  }
  assert.deepEqual([...seen.keys()].sort(), ['app-1', 'app-2', 'app-3'])
})

test('orders placed through the gateway are in the buyer\'s history at once (read-your-writes over the replica)', async () => {
  const login = await call('POST', '/api/login', '', { email: 'user7@example.com', password: 'password123' })
  assert.equal(login.status, 200)
  let cookie = login.cookie
  for (let i = 0; i < 10; i++) {
    const added = await call('POST', '/api/cart/items', cookie, { productId: 10 + i, qty: 1 })
    assert.equal(added.status, 201)
    cookie = added.cookie
    const order = await call('POST', '/api/orders', cookie)
    assert.equal(order.status, 201, JSON.stringify(order.json))
    const history = await call('GET', '/api/orders', cookie)
    assert.ok((history.json.items as Array<{ id: number }>).some((o) => o.id === order.json.id), `order ${String(order.json.id)} missing from history served by ${history.instance}`)
  }
  // The receipt comes from the worker process, through the Redis queue.
  const orders = (await call('GET', '/api/orders', cookie)).json.items as Array<{ id: number }>
  const latest = orders[0] as { id: number }
  const done = await (async () => {
    for (let i = 0; i < 100; i++) {
      const order = await call('GET', `/api/orders/${latest.id}`, cookie)
      if (order.json.receiptReady === true) return /Processed by worker-1/.test(String(order.json.receipt))
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    return false
  })()
  assert.ok(done, 'the worker rendered the receipt')
})

test('an instance killed with SIGKILL: the others keep answering, and the supervisor brings it back', async () => {
  const victim = (await status()).find((p) => p.name === 'app-2')
  assert.ok(victim !== undefined && victim.state === 'ready')
  process.kill(victim.pid, 'SIGKILL')
  for (let i = 0; i < 40; i++) {
    const res = await call('GET', `/api/products/${1 + (i % 20)}`)
    assert.equal(res.status, 200, `request ${i} failed after the kill`)
  }
  let app2: ProcessStatus | undefined
  for (let i = 0; i < 100 && !(app2?.state === 'ready' && app2.restarts === victim.restarts + 1); i++) {
    await new Promise((resolve) => setTimeout(resolve, 200))
    app2 = (await status()).find((p) => p.name === 'app-2')
  }
  assert.equal(app2?.state, 'ready')
  assert.equal(app2?.restarts, victim.restarts + 1)
  assert.notEqual(app2?.pid, victim.pid)
  const events = await cliOutput(['events', '--json'], cwd)
  assert.match(events, /"action":"exited","target":"app-2"/)
  assert.match(events, /"action":"restart","target":"app-2","result":"ok"/)
  const seen = new Set<string>()
  for (let i = 0; i < 60 && !seen.has('app-2'); i++) {
    seen.add((await call('GET', `/api/products/${1 + (i % 20)}`)).instance)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  assert.ok(seen.has('app-2'), 'the restarted instance is back in rotation')
})

test('outgrow status says HA is on with each node\'s role; outgrow switchover --wait hands the leader key over', async () => {
  let table = ''
  assert.ok(await waitUntil(async () => { table = await cliOutput(['status'], cwd); return /sync standby postgres-\d/.test(table) }, 30_000, 300), table)
  const leader = /HA: on — postgres: leader (postgres-\d)/.exec(table)?.[1]
  assert.ok(leader !== undefined, table)
  assert.match(table, new RegExp(`${leader}\\s+postgres \\(leader\\)\\s+db-\\S+\\s+\\d+\\s+postgres://\\S+\\s+ready\\s+\\d+\\s+postmaster \\d+, fence keeper \\d+`))
  const standby = leader === 'postgres-1' ? 'postgres-2' : 'postgres-1'
  assert.match(await cliOutput(['switchover', '--wait'], cwd), new RegExp(`accepted: postgres: ${leader} hands over to ${standby}[\\s\\S]*switched over: ${standby} leads postgres`))
  assert.match(await cliOutput(['events'], cwd), new RegExp(`ha\\s+leader\\s+postgres\\s+observed\\s+${standby} leads \\(was ${leader}\\)`))
  const login = await call('POST', '/api/login', '', { email: 'user8@example.com', password: 'password123' })
  assert.equal(login.status, 200, 'writes work on the new leader')
})

test('a rolling restart of every app instance under load fails zero requests', async () => {
  const login = await call('POST', '/api/login', '', { email: 'user9@example.com', password: 'password123' })
  const cookie = login.cookie
  const failures: string[] = []
  let sent = 0
  let stop = false
  const load = (async () => {
    const inFlight = new Set<Promise<void>>()
    while (!stop) {
      const n = sent++
      const job = (async () => {
        const res = n % 5 === 0
          ? await call('POST', '/api/cart/items', cookie, { productId: 1 + (n % 50), qty: 1 })
          : await call('GET', `/api/products/${1 + (n % 100)}`)
        if (res.status >= 400 && !(n % 5 === 0 && res.status === 400)) failures.push(`${n}: ${res.status} ${JSON.stringify(res.json)}`)
        if (n % 5 === 0 && res.status === 201 && n % 50 === 0) await call('DELETE', '/api/cart', cookie)
      })()
      inFlight.add(job)
      void job.finally(() => inFlight.delete(job))
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    await Promise.all(inFlight)
  })()
  const restarted = new Promise<void>((resolve) => {
    const onData = (d: Buffer): void => { if (d.toString().includes('rolling restart done')) { cli.child.stderr?.off('data', onData); resolve() } }
    cli.child.stderr?.on('data', onData)
  })
  cli.child.kill('SIGHUP')
  await restarted
  stop = true
  await load
  assert.ok(sent > 500, `load kept running through the restart (${sent} requests)`)
  assert.deepEqual(failures, [])
  // A freshly restarted instance is cold: the gateway's latency outlier detection may hold it out
  // for one ejection period, after which it serves again.
  const seen = new Set<string>()
  const until = Date.now() + 20_000
  while (seen.size < 3 && Date.now() < until) {
    seen.add((await call('GET', '/api/products/1')).instance)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  assert.deepEqual([...seen].sort(), ['app-1', 'app-2', 'app-3'], 'every instance serves again after the restart')
})

test('kill -9 of the Redis master: pages keep answering, the session is kept, and after it one master and one replica', async () => {
  const login = await call('POST', '/api/login', '', { email: 'user12@example.com', password: 'password123' })
  // Without a session cookie the item would go to a fresh session that the cart asked for below is not.
  assert.equal(login.status, 200, JSON.stringify(login.json))
  assert.equal((await call('POST', '/api/cart/items', login.cookie, { productId: 3, qty: 2 })).status, 201)
  const master = (await status()).find((p) => p.detail === 'master' && p.name.startsWith('redis-')) as ProcessStatus
  process.kill(master.pid, 'SIGKILL')
  // The supervisor restarts it at once (as the master the Sentinels still name, its AOF intact), or
  // the Sentinels promote the replica first and it comes back as that one's replica.
  const failed: string[] = []
  let settled = false
  for (let i = 0; i < 60 && !settled; i++) {
    for (let j = 0; j < 10; j++) {
      const page = await call('GET', `/api/products/${1 + ((i * 10 + j) % 30)}`)
      if (page.status !== 200) failed.push(`${page.status} ${JSON.stringify(page.json)}`)
    }
    const now = (await status()).filter((p) => /^redis-\d$/.test(p.name))
    const killed = now.find((p) => p.name === master.name)
    settled = killed?.state === 'ready' && killed.restarts === master.restarts + 1 && now.map((p) => p.detail).sort().join() === 'master,replica'
  }
  assert.ok(settled, 'one master and one replica again')
  assert.deepEqual(failed, [], 'product pages never failed')
  let cart = await call('GET', '/api/cart', login.cookie)
  for (let i = 0; i < 50 && cart.status !== 200; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    cart = await call('GET', '/api/cart', login.cookie)
  }
  assert.deepEqual((cart.json.items as Array<{ productId: number, qty: number }>).map((item) => [item.productId, item.qty]), [[3, 2]], 'the session survived')
})

test('killing the supervisor with SIGKILL leaves no orphan process', async () => {
  // An HA node is an agent with its PostgreSQL and fence keeper beside it: all must go. A node that
  // an earlier test demoted may be restarting its PostgreSQL (no postmaster.pid for a moment), so
  // wait until every node reports both before taking the list.
  let processes: ProcessStatus[] = []
  const haPids = (p: ProcessStatus): Array<number | undefined> => p.ha === undefined ? [] : [p.ha.pids.postmaster, p.ha.pids.keeper]
  const steady = await waitUntil(async () => {
    try {
      processes = await status()
    } catch {
      return false // the control API busy for a moment: ask again
    }
    return processes.length === 15 && processes.every((p) => p.state === 'ready' && haPids(p).every((pid) => pid !== undefined))
  }, 30_000, 300)
  assert.ok(steady, `the stack settles: ${JSON.stringify(processes.map((p) => [p.name, p.state, p.ha?.pids]))}`)
  const pids = [...processes.map((p) => p.pid), ...processes.flatMap(haPids).filter((pid): pid is number => pid !== undefined)]
  assert.equal(pids.length, 19)
  // The scan below must see the stack to mean anything: the supervisor and every PostgreSQL.
  const seen = processesIn(cwd)
  for (const pid of [cli.child.pid, ...processes.map((p) => p.ha?.pids.postmaster)]) if (pid !== undefined) assert.ok(seen.includes(pid), `the scan finds ${pid}`)
  cli.child.kill('SIGKILL')
  const allGone = await waitFor(() => pids.every((pid) => !isAlive(pid)), 20_000)
  assert.ok(allGone, `still running: ${pids.filter(isAlive).join(', ')}`)
  // Also what the list could not name: a process started after it was taken (a PostgreSQL restarted
  // in between) still runs in, or names, the stack's directory.
  const noneLeft = await waitFor(() => processesIn(cwd).length === 0, 10_000)
  assert.ok(noneLeft, `still running in the stack's directory: ${processesIn(cwd).join(', ')}`)
})
