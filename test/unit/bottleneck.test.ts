import assert from 'node:assert/strict'
import { test } from 'node:test'
import { findBottleneck, isSaturated, serverKind } from '../../src/lab/bottleneck.js'
import type { CpuWindow, Resident, ServerCpu } from '../../src/lab/cpu-window.js'

function server (name: string, residents: Array<[string, Resident['role']]>, utilization: number, quotaCores = 0.5, throttledShare: number | undefined = utilization >= 0.9 ? 0.8 : 0.05): ServerCpu {
  return {
    server: name, residents: residents.map(([n, role]) => ({ name: n, role })),
    usedCores: utilization * quotaCores, quotaCores, utilization, throttledShare, source: 'cgroup',
  }
}

function window (servers: ServerCpu[], busyCores = 1): CpuWindow {
  const stackCores = servers.reduce((sum, s) => sum + s.usedCores, 0)
  return { seconds: 8, servers: [...servers].sort((a, b) => b.utilization - a.utilization), machine: { cores: 2, busyCores, stackCores, otherCores: Math.max(0, busyCores - stackCores) } }
}

const level2 = (app: number, db: number): ServerCpu[] => [
  server('app-1', [['app-1', 'app']], app, 0.05),
  server('db-primary', [['postgres-primary', 'postgres primary']], db),
]

test('the app server at its small quota is named, and the advice is more app instances behind a load balancer', () => {
  const result = findBottleneck(window(level2(0.98, 0.2)))
  assert.equal(result.kind, 'app')
  assert.deepEqual(result.saturated.map((s) => s.server), ['app-1'])
  assert.match(result.verdict, /^Bottleneck: app-1 \(app-1: app\) at 98% of its 0.05-core CPU quota, throttled in 80% of periods — scale next: more app instances behind a load balancer \(level 4\)\.$/)
  assert.ok(!result.verdict.includes('\n'), 'one line')
  assert.match(result.advice, /app instances/)
})

test('saturated: at 90% of the quota, or throttled in one period in six or more while busy; not throttled bursts on an idle server', () => {
  assert.ok(isSaturated(server('a', [], 0.9, 1, 0)))
  assert.ok(isSaturated(server('a', [], 0.7, 1, 0.6)))
  assert.ok(isSaturated(server('a', [], 0.86, 1, 0.39)), 'level 1 at its knee: 86 % used, throttled in 39 % of periods')
  assert.ok(!isSaturated(server('a', [], 0.54, 1, 0.1)))
  assert.ok(!isSaturated(server('a', [], 0.3, 1, 0.9)))
  assert.ok(!isSaturated(server('a', [], 0.85, 1, undefined)))
  assert.ok(isSaturated(server('a', [], 0.85, 1, undefined), { saturatedAt: 0.8 }))
})

test('level 1: app and PostgreSQL on one saturated server → separate the database', () => {
  const result = findBottleneck(window([server('server-1', [['app-1', 'app'], ['postgres-primary', 'postgres primary']], 0.97)]))
  assert.equal(result.kind, 'colocated')
  assert.match(result.verdict, /server-1 .* scale next: separate the database \(level 2\)/)
  const shared = server('server-1', [['app-1', 'app'], ['postgres-primary', 'postgres primary']], 0.96, 0.25)
  const split: ServerCpu = { ...shared, residents: [{ name: 'app-1', role: 'app', usedCores: 0.06 }, { name: 'postgres-primary', role: 'postgres primary', usedCores: 0.18 }] }
  assert.match(findBottleneck(window([split])).verdict, /^Bottleneck: server-1 \(app-1: app 25%, postgres-primary: postgres primary 75%\) at 96%/, 'who took the shared quota')
})

test('the primary: a cache without Redis, replicas with a cache, sharding with replicas or when writes load it', () => {
  assert.match(findBottleneck(window(level2(0.3, 0.95))).verdict, /db-primary .* scale next: add a cache \(Redis, level 3\)/)
  const level3 = [...level2(0.3, 0.95), server('redis', [['redis', 'redis']], 0.2)]
  assert.match(findBottleneck(window(level3)).verdict, /scale next: add read replicas/)
  assert.match(findBottleneck(window(level3), { primaryWorkload: 'writes' }).verdict, /scale next: shard the writes \(level 5\)/)
  const withReplica = [...level3, server('db-replica-1', [['postgres-replica-1', 'postgres replica']], 0.4)]
  assert.equal(findBottleneck(window(withReplica)).kind, 'postgres-primary')
  assert.match(findBottleneck(window(withReplica)).advice, /shard/)
  assert.match(findBottleneck(window(withReplica), { primaryWorkload: 'reads' }).advice, /read replicas \(now 1\)/)
})

test('a replica, Redis, a worker each get their own next step', () => {
  const base = [server('app-1', [['app-1', 'app']], 0.3), server('gateway', [['gateway', 'gateway']], 0.3), server('db-primary', [['postgres-1', 'postgres primary']], 0.4)]
  const replica = findBottleneck(window([...base, server('db-replica-1', [['postgres-2', 'postgres replica']], 0.99)]))
  assert.equal(replica.kind, 'postgres-replica')
  assert.match(replica.verdict, /db-replica-1 .* add a read replica \(1 → 2\)/)
  const redis = findBottleneck(window([...base, server('redis', [['redis', 'redis']], 0.95)]))
  assert.equal(redis.kind, 'redis')
  assert.match(redis.advice, /Redis on redis .* bigger server, or split the cache and the sessions/)
  const worker = findBottleneck(window([...base, server('worker-1', [['worker-1', 'worker']], 0.95)]))
  assert.match(worker.verdict, /more workers \(1 → 2\)/)
})

test('level 4: every app server saturated → more instances; with the gateway saturated too → scale the gateway; uneven → the balancer', () => {
  const apps = (u: number[]): ServerCpu[] => u.map((x, i) => server(`app-${i + 1}`, [[`app-${i + 1}`, 'app']], x))
  const rest = [server('db-primary', [['postgres-1', 'postgres primary']], 0.3), server('redis', [['redis', 'redis']], 0.1)]
  const all = findBottleneck(window([...apps([0.97, 0.95, 0.96]), server('gateway', [['gateway', 'gateway']], 0.4), ...rest]))
  assert.equal(all.kind, 'app')
  assert.match(all.verdict, /more app instances \(3 → 5\)/)
  const withGateway = findBottleneck(window([...apps([0.99, 0.98, 0.97]), server('gateway', [['gateway', 'gateway']], 0.93), ...rest]))
  assert.equal(withGateway.kind, 'gateway')
  assert.match(withGateway.verdict, /^Bottleneck: gateway .* also at quota: app-1, app-2, app-3 — scale next: scale the gateway\.$/)
  assert.match(withGateway.advice, /every app server/)
  const uneven = findBottleneck(window([...apps([0.97, 0.3, 0.35]), server('gateway', [['gateway', 'gateway']], 0.4), ...rest]))
  assert.match(uneven.advice, /1 of 3 app servers .* unevenly/)
  // Two at their quota, the third close behind, the gateway's shares even: not a balancing problem.
  const together = findBottleneck(window([...apps([0.97, 0.92, 0.7]), server('gateway', [['gateway', 'gateway']], 0.4), ...rest]))
  assert.equal(together.kind, 'app')
  assert.match(together.verdict, /scale next: more app instances \(3 → 5\)\.$/)
  assert.match(together.advice, /2 of 3 app servers .* least busy, app-3, is at 70 %: the load is spread evenly/)
  // The gateway's count of who got what says uneven even when the CPU use looks close.
  const starved = findBottleneck(window([...apps([0.97, 0.92, 0.7]), server('gateway', [['gateway', 'gateway']], 0.4), ...rest]), { unevenBalance: 'app-3 got 10 % of the responses' })
  assert.match(starved.verdict, /even out the balancing/)
})

test('nothing at its quota: the machine when its cores are all busy, else not CPU', () => {
  const machine = findBottleneck(window(level2(0.5, 0.5), 1.975))
  assert.equal(machine.kind, 'machine')
  assert.equal(machine.machineSaturated, true)
  assert.match(machine.verdict, /^Bottleneck: the machine, 1.98 of 2 cores busy: servers 0.28, load generator and the rest 1.7;/)
  const none = findBottleneck(window(level2(0.5, 0.5), 0.6))
  assert.equal(none.kind, 'none')
  assert.match(none.verdict, /^No CPU bottleneck: no server at its quota \(busiest app-1/)
  assert.match(none.advice, /load generator/)
})

test('a saturated server on a busy machine says both', () => {
  const result = findBottleneck(window(level2(0.99, 0.3), 1.9))
  assert.equal(result.kind, 'app')
  assert.match(result.verdict, /the machine is busy too, 1.9 of 2 cores busy: servers/)
})

test('server kinds from their residents; /proc readings name their budget', () => {
  assert.equal(serverKind(server('db-primary', [['postgres', 'pooler'], ['postgres-primary', 'postgres primary']], 1)), 'postgres-primary')
  assert.equal(serverKind(server('sentinels', [['sentinel-1', 'sentinel']], 1)), 'other')
  const pinned: ServerCpu = { ...server('app-1', [['app-1', 'app']], 0.95, 1), throttledShare: undefined, source: 'proc' }
  assert.match(findBottleneck(window([pinned])).verdict, /app-1 \(app-1: app\) at 95% of its one pinned core — /)
})
