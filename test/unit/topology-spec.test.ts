import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { parseStackConfig, type StackConfigInput } from '../../src/config/stack-config.js'
import { summarize, type Topology } from '../../src/config/levels.js'
import { deepMerge, preset, specFromConfig, type Level } from '../../src/control/presets.js'
import type { TopologySpec } from '../../src/control/spec.js'
import { connectionDemand, validateSpec } from '../../src/control/validate-spec.js'
import { thrown } from '../helpers/thrown.js'

const MODULE = 'examples/shop/service.js'

// The edits write arbitrary, often invalid, values into untyped spec input: that is what these tests check.
/* eslint-disable @typescript-eslint/no-unsafe-member-access */
type Json = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any

/** A level's preset as plain data, edited in place by `edit`, then validated. */
function specWith (level: Level, edit: (spec: Json) => void = () => {}): TopologySpec {
  const input = structuredClone(preset(level, MODULE)) as Json
  edit(input)
  return validateSpec(input)
}

const fromConfig = (config: Omit<StackConfigInput, 'app'>): TopologySpec =>
  validateSpec(specFromConfig(parseStackConfig({ app: { service: 'service.js' }, ...config }), MODULE))


// --- presets --------------------------------------------------------------------------------

const base = { colocateDb: false, instances: 1, replicas: 0, workers: 0, gateway: false, redis: false, redisFailover: false, cache: 'none', session: 'memory', jobs: 'inprocess' } as const
const expectedTopology: Record<Level, Topology> = {
  1: { ...base, level: 1, colocateDb: true },
  2: { ...base, level: 2 },
  3: { ...base, level: 3, redis: true, cache: 'redis', session: 'redis' },
  4: { level: 4, colocateDb: false, instances: 3, replicas: 1, workers: 1, gateway: true, redis: true, redisFailover: true, cache: 'redis', session: 'redis', jobs: 'bullmq' },
}

for (const level of [1, 2, 3, 4] as const) {
  test(`preset level ${level} validates and summarises to its topology`, () => {
    assert.deepEqual(summarize(specWith(level)), expectedTopology[level])
  })

  test(`level ${level} from a bare config is its preset${level === 4 ? ' with Redis failover (ha)' : ''}`, () => {
    assert.deepEqual(fromConfig({ level, ha: false }), validateSpec(preset(level, MODULE, { ha: false })))
    assert.deepEqual(fromConfig({ level }), specWith(level))
  })
}

test('presets fill defaults: pool of 10, async replication (sync under HA at level 4), no pooler, port 8080', () => {
  const spec = specWith(4)
  assert.deepEqual(spec.services.app?.pool, { size: 10, connectTimeoutMs: 2000, statementTimeoutMs: 10_000, idleTimeoutMs: 300_000 })
  assert.equal(specWith(3).databases.postgres?.replication, 'async')
  assert.equal(spec.databases.postgres?.replication, 'sync')
  assert.deepEqual(spec.databases.postgres?.pooler, { kind: 'none' })
  assert.equal(spec.gateways.gateway?.port, 8080)
  assert.equal(spec.services.app?.listen, undefined)
  assert.deepEqual(specWith(2).services.app?.listen, { host: '127.0.0.1', port: 8080 })
})

// --- specFromConfig: shorthands -------------------------------------------------------------

test('port: the gateway port at level 4, the service listen port at levels 1–3', () => {
  const l4 = fromConfig({ level: 4, port: 9100, host: '0.0.0.0', adminToken: 'a-real-secret' })
  assert.equal(l4.gateways.gateway?.port, 9100)
  assert.equal(l4.gateways.gateway?.host, '0.0.0.0')
  assert.equal(l4.services.app?.listen, undefined)
  for (const level of [1, 2, 3] as const) {
    const spec = fromConfig({ level, port: 9100, host: '0.0.0.0', adminToken: 'a-real-secret' })
    assert.deepEqual(spec.services.app?.listen, { host: '0.0.0.0', port: 9100 }, `level ${level}`)
    assert.deepEqual(spec.gateways, {}, `level ${level}`)
  }
})

test('instances, replicas, workers, balancer and gatewayProcesses shorthands land on the preset parts', () => {
  const spec = fromConfig({ level: 4, instances: 5, replicas: 2, workers: 3, balancer: 'p2c', gatewayProcesses: 4, healthCheck: { intervalMs: 250 } })
  assert.deepEqual(spec.services.app?.instances, { count: 5 })
  assert.equal(spec.databases.postgres?.replicas.count, 2)
  assert.equal(spec.databases.postgres?.replicas.server, 'db-replica-{i}', 'merged, not replaced')
  assert.deepEqual(spec.workers.worker?.instances, { count: 3 })
  assert.equal(spec.workers.worker?.service, 'app', 'merged, not replaced')
  assert.equal(spec.gateways.gateway?.processes, 4)
  assert.equal(spec.gateways.gateway?.healthCheck.intervalMs, 250)
  assert.deepEqual(spec.gateways.gateway?.routes.map((r) => [r.pathPrefix, r.service, r.balancer]), [['/', 'app', 'p2c']])
  assert.deepEqual(summarize(spec), { ...expectedTopology[4], instances: 5, replicas: 2, workers: 3, redisFailover: true })
})

test('emulation, seed and adminToken pass through to the spec', () => {
  const spec = fromConfig({ level: 2, emulation: { mode: 'none', cpusPerServer: 1.5 }, seed: { products: 50, users: 5 }, adminToken: 'a-longer-token' })
  assert.deepEqual(spec.emulation, { mode: 'none', cpusPerServer: 1.5 })
  assert.deepEqual(spec.seed, { products: 50, users: 5 })
  assert.equal(spec.adminToken, 'a-longer-token')
})

test('replicas shorthand works below level 4; workers below level 4 are kept and refused', () => {
  assert.equal(fromConfig({ level: 2, replicas: 1 }).databases.postgres?.replicas.count, 1)
  const err = thrown(() => fromConfig({ level: 3, workers: 2 }))
  assert.equal(err.code, 'OUTGROW_TOPOLOGY_REFUSED')
  assert.equal(err.details?.field, 'workers.worker')
  assert.deepEqual(fromConfig({ level: 3, workers: 0 }).workers, {}, 'no workers asked for, none added')
})

test('instances > 1 below level 4 are refused: no gateway in front of them', () => {
  const err = thrown(() => fromConfig({ level: 3, instances: 2 }))
  assert.equal(err.details?.field, 'services.app.instances')
})

// --- specFromConfig: topology overrides -----------------------------------------------------

test('topology overrides deep-merge objects over the preset and the shorthands', () => {
  const spec = fromConfig({ level: 4, instances: 4, topology: { services: { app: { pool: { size: 5 } } }, databases: { postgres: { maxConnections: 500 } } } })
  assert.equal(spec.services.app?.pool.size, 5)
  assert.equal(spec.services.app?.pool.connectTimeoutMs, 2000, 'sibling defaults kept')
  assert.equal(spec.services.app?.module, MODULE, 'sibling keys kept')
  assert.deepEqual(spec.services.app?.instances, { count: 4 }, 'shorthand kept')
  assert.equal(spec.databases.postgres?.maxConnections, 500)
  assert.equal(spec.databases.postgres?.primary.server, 'db-primary')
})

test('topology overrides win over shorthands for the same field', () => {
  const spec = fromConfig({ level: 4, instances: 4, topology: { services: { app: { instances: { count: 2 } } } } })
  assert.deepEqual(spec.services.app?.instances, { count: 2 })
})

test('topology overrides replace arrays instead of merging them', () => {
  const spec = fromConfig({ level: 4, topology: { redis: { redis: { roles: ['registry', 'queue', 'cache', 'sessions'] } }, gateways: { gateway: { routes: [{ pathPrefix: '/api', service: 'app' }] } } } })
  assert.deepEqual(spec.redis.redis?.roles, ['registry', 'queue', 'cache', 'sessions'])
  assert.deepEqual(spec.gateways.gateway?.routes.map((r) => r.pathPrefix), ['/api'])
})

test('topology overrides can add parts the preset lacks', () => {
  const spec = fromConfig({ level: 4, topology: { servers: { 'app-1': { cpus: 2 } }, services: { app: { restartedAt: 'now' } } } })
  assert.deepEqual(spec.servers, { 'app-1': { cpus: 2 } })
  assert.equal(spec.services.app?.restartedAt, 'now')
})

test('deepMerge: objects merge key by key, arrays and scalars replace, undefined keeps the base', () => {
  assert.deepEqual(deepMerge({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3] }, e: 2 }), { a: { b: 1, c: [3] }, d: 1, e: 2 })
  assert.deepEqual(deepMerge({ a: { b: 1 } }, { a: 5 }), { a: 5 })
  assert.deepEqual(deepMerge({ a: 1 }, { a: undefined }), { a: 1 })
  assert.deepEqual(deepMerge({ a: { b: 1 } }, { a: null }), { a: null })
  const baseObj = { a: { b: 1 } }
  deepMerge(baseObj, { a: { b: 2 } })
  assert.deepEqual(baseObj, { a: { b: 1 } }, 'the base is not mutated')
})

// --- refusals -------------------------------------------------------------------------------

interface Refusal {
  readonly name: string
  readonly level: Level
  readonly edit: (spec: Json) => void
  /** The field the one-line message names (and details.field). */
  readonly field: string
  readonly message: RegExp
}

const admin = (extra: Json = {}): Json => ({ module: MODULE, database: 'postgres', instances: { count: 1 }, server: 'admin-{i}', ...extra })

/** One case per refuse(...) call in src/control/validate-spec.ts, in source order. */
const refusals: Refusal[] = [
  { name: 'instances min above max', level: 4, edit: (s) => { s.services.app.instances = { count: 3, min: 5, max: 4 } }, field: 'services.app.instances.min', message: /min 5 is above max 4/ },
  { name: 'instances count below min', level: 4, edit: (s) => { s.services.app.instances = { count: 2, min: 3, max: 6 } }, field: 'services.app.instances.count', message: /count 2 is below min 3/ },
  { name: 'instances count above max', level: 4, edit: (s) => { s.services.app.instances = { count: 7, max: 6 } }, field: 'services.app.instances.count', message: /count 7 is above max 6/ },
  { name: 'a Redis role served twice', level: 4, edit: (s) => { s.redis.second = { roles: ['cache'], server: 'redis-2' } }, field: 'redis.second.roles', message: /role cache is already served by redis redis/ },
  { name: 'PostgreSQL HA without consensus', level: 4, edit: (s) => { delete s.consensus }, field: 'databases.postgres.ha.enabled', message: /needs the consensus store: add consensus: \{ members: 3 \}/ },
  { name: 'PostgreSQL HA behind pgbouncer', level: 4, edit: (s) => { s.databases.postgres.pooler = { kind: 'pgbouncer' } }, field: 'databases.postgres.pooler', message: /does not follow the elected leader/ },
  { name: 'PostgreSQL HA timing that fences a healthy leader', level: 4, edit: (s) => { s.databases.postgres.ha.ttlMs = 2000 }, field: 'databases.postgres.ha.loopWaitMs', message: /must be <= ttlMs - safetyMarginMs/ },
  { name: 'a Sentinel quorum above the Sentinels', level: 3, edit: (s) => { s.redis.redis.sentinel = { enabled: true, sentinels: 3, quorum: 4 } }, field: 'redis.redis.sentinel.quorum', message: /4 of 3 sentinels/ },
  { name: 'Sentinel over a Redis without persistence', level: 3, edit: (s) => { s.redis.redis.sentinel = true; s.redis.redis.persistence = 'none' }, field: 'redis.redis.persistence', message: /restarted empty/ },
  { name: 'sync replication without replicas', level: 2, edit: (s) => { s.databases.postgres.replication = 'sync' }, field: 'databases.postgres.replication', message: /at least one replica/ },
  { name: 'an even number of etcd members', level: 4, edit: (s) => { s.consensus = { members: 4 } }, field: 'consensus.members', message: /4 members: a quorum is a majority, so 4 survive no more failures than 3/ },
  { name: 'a route to an unknown service', level: 4, edit: (s) => { s.gateways.gateway.routes = [{ service: 'app' }, { pathPrefix: '/x', service: 'nope' }] }, field: 'gateways.gateway.routes.1.service', message: /no service named nope/ },
  {
    name: 'routes to two services',
    level: 4,
    edit: (s) => { s.services.admin = admin(); s.gateways.gateway.routes = [{ service: 'app' }, { pathPrefix: '/admin', service: 'admin' }] },
    field: 'gateways.gateway.routes',
    message: /more than one service/,
  },
  { name: 'a gateway without the registry role', level: 4, edit: (s) => { s.redis.redis.roles = ['cache', 'sessions', 'queue', 'rate-limits'] }, field: 'gateways.gateway', message: /registry role/ },
  {
    name: 'two gateways on one port',
    level: 4,
    edit: (s) => { s.gateways.edge = { port: 8080, server: 'edge', routes: [{ service: 'app' }] } },
    field: 'gateways.edge.port',
    message: /port 8080 is also used by gateway gateway/,
  },
  { name: 'an unknown database', level: 2, edit: (s) => { s.services.app.database = 'other' }, field: 'services.app.database', message: /no database named other/ },
  { name: 'a service nobody can reach', level: 2, edit: (s) => { delete s.services.app.listen }, field: 'services.app', message: /no gateway routes to it and it has no listen address/ },
  { name: 'several instances without a gateway', level: 3, edit: (s) => { s.services.app.instances = { count: 2 } }, field: 'services.app.instances', message: /needs a gateway route/ },
  { name: 'a routed service with a listen address', level: 4, edit: (s) => { s.services.app.listen = { port: 9000 } }, field: 'services.app.listen', message: /gateway gateway routes to it/ },
  { name: 'a listen port already taken', level: 2, edit: (s) => { s.services.admin = admin({ listen: { port: 8080 } }) }, field: 'services.admin.listen.port', message: /port 8080 is also used by service app/ },
  { name: 'pre-rendering without a gateway to serve the pages', level: 3, edit: (s) => { s.services.app.prerender = { enabled: true } }, field: 'services.app.prerender.enabled', message: /served by a gateway/ },
  { name: 'several instances without shared sessions', level: 4, edit: (s) => { s.redis.redis.roles = ['cache', 'queue', 'registry'] }, field: 'services.app.instances', message: /sessions role/ },
  { name: 'several instances without a shared cache', level: 4, edit: (s) => { s.redis.redis.roles = ['sessions', 'queue', 'registry'] }, field: 'services.app.instances', message: /cache role/ },
  { name: 'workers of an unknown service', level: 4, edit: (s) => { s.workers.worker.service = 'nope' }, field: 'workers.worker.service', message: /no service named nope/ },
  { name: 'workers without a queue', level: 3, edit: (s) => { s.workers = { worker: { service: 'app', instances: { count: 1 }, server: 'worker-{i}' } } }, field: 'workers.worker', message: /queue role/ },
  { name: 'a queue without workers', level: 4, edit: (s) => { s.workers.worker.instances = { count: 0 } }, field: 'workers', message: /jobs of service app are queued in Redis redis but no worker runs them/ },
  {
    name: 'a pgbouncer pool larger than the database allows',
    level: 4,
    edit: (s) => { s.databases.postgres.pooler = { kind: 'pgbouncer', poolSize: 290 }; s.databases.postgres.ha = { enabled: false } },
    field: 'databases.postgres.pooler.poolSize',
    message: /290 server connections exceed the 289 that maxConnections 300 leaves/,
  },
  { name: 'more connections than the database allows', level: 4, edit: (s) => { s.databases.postgres.maxConnections = 50 }, field: 'databases.postgres.maxConnections', message: /may open 40 connections, above the 39/ },
  {
    name: 'two processes with one name',
    level: 4,
    edit: (s) => { s.workers.app = { service: 'app', instances: { count: 1 }, server: 'jobs-{i}' } },
    field: 'services.app',
    message: /its process app-1 has the same name as one of workers\.app/,
  },
]

for (const r of refusals) {
  test(`refused: ${r.name} (${r.field})`, () => {
    const err = thrown(() => specWith(r.level, r.edit))
    assert.equal(err.code, 'OUTGROW_TOPOLOGY_REFUSED')
    assert.equal(err.status, 422)
    assert.equal(err.details?.field, r.field)
    assert.ok(err.message.startsWith(`topology refused: ${r.field}: `), err.message)
    assert.match(err.message, r.message)
    assert.doesNotMatch(err.message, /\n/, 'one line')
  })
}

test('checkInstances refuses worker ranges too, naming the worker field', () => {
  const err = thrown(() => specWith(4, (s) => { s.workers.worker.instances = { count: 3, max: 2 } }))
  assert.equal(err.details?.field, 'workers.worker.instances.count')
})

test('every refuse(...) in validate-spec.ts has a case above', () => {
  const source = readFileSync(new URL('../../../src/control/validate-spec.ts', import.meta.url), 'utf8')
  const calls = [...source.matchAll(/(?<!function )\brefuse\s*\(/g)].length
  assert.equal(refusals.length, calls, 'a refusal was added or removed: add or remove its case')
})

// --- zod errors -----------------------------------------------------------------------------

const invalid: Array<{ name: string, edit: (s: Json) => void, field: string }> = [
  { name: 'a negative count', edit: (s) => { s.services.app.instances.count = -1 }, field: 'services.app.instances.count' },
  { name: 'an unknown balancer', edit: (s) => { s.gateways.gateway.routes[0].balancer = 'random' }, field: 'gateways.gateway.routes.0.balancer' },
  { name: 'a bad server name', edit: (s) => { s.services.app.server = 'App_1' }, field: 'services.app.server' },
  { name: 'a pool size of 0', edit: (s) => { s.workers.worker.pool = { size: 0 } }, field: 'workers.worker.pool.size' },
  { name: 'no databases', edit: (s) => { delete s.databases }, field: 'databases' },
  { name: 'an unknown key (strict)', edit: (s) => { s.services.app.replicas = 2 }, field: 'services.app' },
  { name: 'an unknown Redis role', edit: (s) => { s.redis.redis.roles = ['cache', 'pubsub'] }, field: 'redis.redis.roles.1' },
  { name: 'an unknown pooler', edit: (s) => { s.databases.postgres.pooler = { kind: 'pgpool' } }, field: 'databases.postgres.pooler.kind' },
]

for (const c of invalid) {
  test(`invalid: ${c.name} names ${c.field}`, () => {
    const err = thrown(() => specWith(4, c.edit))
    assert.equal(err.code, 'OUTGROW_CONFIG_INVALID')
    assert.equal(err.details?.field, c.field)
    assert.ok(err.message.startsWith(`invalid topology: ${c.field}: `), err.message)
  })
}

// --- connections ----------------------------------------------------------------------------

test('connections: instances × pool size + workers × pool size against maxConnections − 10 reserved − replicas', () => {
  // Level 4: 3 instances × 10 + 1 worker × 10 = 40; one replica; 10 reserved → needs 51.
  assert.equal(connectionDemand(specWith(4)).get('postgres'), 40)
  assert.equal(specWith(4, (s) => { s.databases.postgres.maxConnections = 51 }).databases.postgres?.maxConnections, 51)
  assert.equal(thrown(() => specWith(4, (s) => { s.databases.postgres.maxConnections = 50 })).details?.field, 'databases.postgres.maxConnections')
})

test('connections: pool size and worker count move the boundary', () => {
  const edit = (pool: number, workers: number, max: number) => (s: Json): void => {
    s.services.app.pool = { size: pool }
    s.workers.worker.instances = { count: workers }
    s.databases.postgres.maxConnections = max
  }
  // 3 × 7 + 2 × 10 = 41, plus 11 → 52.
  assert.doesNotThrow(() => specWith(4, edit(7, 2, 52)))
  assert.equal(thrown(() => specWith(4, edit(7, 2, 51))).details?.field, 'databases.postgres.maxConnections')
})

test('connections: an autoscaling range counts at its max', () => {
  const edit = (max: number) => (s: Json): void => {
    s.services.app.instances = { count: 3, min: 1, max: 5 }
    s.databases.postgres.maxConnections = max
  }
  // 5 × 10 + 10 = 60, plus 11 → 71.
  assert.equal(connectionDemand(specWith(4, edit(71))).get('postgres'), 60)
  assert.equal(thrown(() => specWith(4, edit(70))).details?.field, 'databases.postgres.maxConnections')
})

test('connections: with pgbouncer only its pool counts, up to the same boundary', () => {
  const edit = (poolSize: number) => (s: Json): void => {
    s.databases.postgres.maxConnections = 50
    s.databases.postgres.pooler = { kind: 'pgbouncer', poolSize }
    s.databases.postgres.ha = { enabled: false }
  }
  assert.doesNotThrow(() => specWith(4, edit(39)))
  assert.equal(thrown(() => specWith(4, edit(40))).details?.field, 'databases.postgres.pooler.poolSize')
})
