import assert from 'node:assert/strict'
import { writeFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { parseGatewayConfig } from '../../src/config/gateway-config.js'
import { summarize } from '../../src/config/levels.js'
import { specFromConfig } from '../../src/control/presets.js'
import { validateSpec } from '../../src/control/validate-spec.js'
import { loadStackConfig } from '../../src/config/load.js'
import { parseProcessConfig } from '../../src/config/process-config.js'
import { parseStackConfig } from '../../src/config/stack-config.js'
import { OutgrowError } from '../../src/errors/index.js'

const app = { service: './service.js' }

test('defaults fill in a minimal config', () => {
  const config = parseStackConfig({ app })
  assert.equal(config.level, 1)
  assert.equal(config.port, 8080)
  assert.equal(config.healthCheck.intervalMs, 1000)
  assert.equal(config.seed.products, 10_000)
})

test('an invalid config fails with one line naming the field', () => {
  const cases: Array<[unknown, string]> = [
    [{ app, level: 7 }, 'level'],
    [{ app, healthCheck: { intervalMs: 'fast' } }, 'healthCheck.intervalMs'],
    [{ app, emulation: { cpusPerServer: -1 } }, 'emulation.cpusPerServer'],
    [{ app, unknownKey: true }, '(root)'],
    [{}, 'app'],
  ]
  for (const [input, field] of cases) {
    assert.throws(() => parseStackConfig(input), (err: unknown) => {
      assert.ok(err instanceof OutgrowError)
      assert.equal(err.code, 'OUTGROW_CONFIG_INVALID')
      assert.ok(err.message.includes(`${field}:`), `${err.message} names ${field}`)
      assert.ok(!err.message.includes('\n'), 'one line')
      return true
    })
  }
})

test('each level resolves to its playbook topology', () => {
  const resolveTopology = (config: ReturnType<typeof parseStackConfig>): ReturnType<typeof summarize> => summarize(validateSpec(specFromConfig(config, '/service.js')))
  const at = (level: number): ReturnType<typeof resolveTopology> => resolveTopology(parseStackConfig({ app, level }))
  assert.equal(at(1).colocateDb, true)
  assert.equal(at(1).cache, 'none')
  assert.equal(at(2).colocateDb, false)
  assert.equal(at(2).redis, false)
  assert.equal(at(3).cache, 'redis')
  assert.equal(at(3).session, 'redis')
  assert.equal(at(3).jobs, 'inprocess')
  const l4 = at(4)
  assert.deepEqual([l4.gateway, l4.instances, l4.replicas, l4.workers, l4.jobs], [true, 3, 1, 1, 'bullmq'])
})

test('combinations that cannot work are refused, naming the field', () => {
  const resolveTopology = (config: ReturnType<typeof parseStackConfig>): unknown => validateSpec(specFromConfig(config, '/service.js'))
  assert.throws(() => resolveTopology(parseStackConfig({ app, level: 2, instances: 3 })), /instances: .*gateway/)
  assert.throws(() => resolveTopology(parseStackConfig({ app, level: 4, workers: 0 })), /workers: /)
})

test('config files: JSON is read, a bad file is named', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'outgrow-config-'))
  const good = join(dir, 'outgrow.config.json')
  await writeFile(good, JSON.stringify({ app, level: 3 }))
  // A service module that is not there is named by its field, before anything starts.
  await assert.rejects(loadStackConfig(good), (err: Error & { code?: string }) => err.code === 'OUTGROW_CONFIG_INVALID' && /app\.service: module not found: \.\/service\.js/.test(err.message))
  await writeFile(join(dir, 'service.js'), 'export default {}\n')
  const loaded = await loadStackConfig(good, { port: 9000 })
  after(async () => { await rm(dir, { recursive: true, force: true }) })
  assert.equal(loaded.config.level, 3)
  assert.equal(loaded.config.port, 9000)
  assert.equal(loaded.servicePath, join(dir, 'service.js'))
  const broken = join(dir, 'broken.json')
  await writeFile(broken, '{ level: ')
  await assert.rejects(loadStackConfig(broken), /not valid JSON/)
  await assert.rejects(loadStackConfig(join(dir, 'absent.json')), { code: 'OUTGROW_CONFIG_NOT_FOUND' })
})

test('process configs name their adapters explicitly', () => {
  const parsed = parseProcessConfig({
    role: 'app', instanceId: 'app-1', port: 0, service: '/s.js', adminToken: 'x'.repeat(8),
    db: { primary: 'postgres://x' }, cache: { kind: 'redis', url: 'redis://x' }, session: { kind: 'memory' }, jobs: { kind: 'inprocess' },
  })
  assert.equal(parsed.role, 'app')
  assert.throws(() => parseProcessConfig({ role: 'app', instanceId: 'a', port: 0, service: '/s', adminToken: 'x'.repeat(8), db: { primary: 'p' }, cache: { kind: 'memcached' }, session: { kind: 'memory' }, jobs: { kind: 'inprocess' } }), /cache.kind/)
})

test('app and worker configs take an optional publishHost: a host, not a URL', () => {
  const base = { instanceId: 'a', port: 0, service: '/s', adminToken: 'x'.repeat(8), db: { primary: 'p' }, cache: { kind: 'none' }, session: { kind: 'memory' }, jobs: { kind: 'inprocess' } }
  const app = parseProcessConfig({ ...base, role: 'app', publishHost: 'app-1.internal' })
  assert.equal(app.role === 'app' ? app.publishHost : undefined, 'app-1.internal')
  const worker = parseProcessConfig({ ...base, role: 'worker', publishHost: '10.0.0.7' })
  assert.equal(worker.role === 'worker' ? worker.publishHost : undefined, '10.0.0.7')
  assert.throws(() => parseProcessConfig({ ...base, role: 'app', publishHost: 'http://app-1' }), /publishHost/)
})

test('gateway config: processes share connections through the kernel unless round-robin is asked for; a bad value names the field', () => {
  assert.equal(parseGatewayConfig({ processes: 2 }).connectionDistribution, 'kernel')
  assert.equal(parseGatewayConfig({ processes: 2, connectionDistribution: 'round-robin' }).connectionDistribution, 'round-robin')
  assert.throws(() => parseGatewayConfig({ connectionDistribution: 'random' }), (err: unknown) => err instanceof OutgrowError && /connectionDistribution/.test(err.message))
})

test('gateway config: both parsing sides choose automatically unless told; a bad value names the field', () => {
  const config = parseGatewayConfig({})
  assert.equal(config.server, 'auto')
  assert.equal(config.upstreams.client, 'auto')
  assert.equal(parseGatewayConfig({ server: 'node-http' }).server, 'node-http')
  assert.throws(() => parseGatewayConfig({ server: 'express' }), (err: unknown) => err instanceof OutgrowError && /server/.test(err.message))
})
