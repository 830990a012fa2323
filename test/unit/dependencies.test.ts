import assert from 'node:assert/strict'
import { test } from 'node:test'
import { UnconfirmedInvalidations } from '../../src/cache/unconfirmed-invalidations.js'
import { DependencyHealth, collectDependencyStates } from '../../src/runtime/dependencies.js'
import { adapterLog } from '../../src/runtime/log.js'

adapterLog.level = 'silent'
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

test('readers share one probe per maxAgeMs, and real traffic makes probes unnecessary', async () => {
  let probes = 0
  let answering = true
  const health = new DependencyHealth('test-probe-cache', async () => {
    probes++
    if (!answering) throw new Error('refused')
  }, { maxAgeMs: 100 })
  assert.deepEqual(await Promise.all([health.current(), health.current(), health.current()]), ['up', 'up', 'up'])
  assert.equal(probes, 1, 'concurrent readers share one probe')
  answering = false
  assert.equal(await health.current(), 'up', 'a fresh observation is reported without probing')
  assert.equal(probes, 1)
  await sleep(120)
  assert.equal(await health.current(), 'down', 'a stale one is probed again')
  assert.equal(probes, 2)
  health.markUp()
  assert.equal(await health.current(), 'up', 'a success of real traffic counts as an observation')
  assert.equal(probes, 2)
})

test('a probe that hangs is not waited for: the last known state is reported', async () => {
  const health = new DependencyHealth('test-probe-hang', async () => { await sleep(1000) }, { maxAgeMs: 0, probeWaitMs: 50 })
  health.markDown(new Error('connection reset'))
  const started = Date.now()
  assert.equal(await health.current(), 'down')
  assert.ok(Date.now() - started < 500)
})

test('dependency states are gathered from the adapters that report them; in-process ones add nothing', async () => {
  const states = await collectDependencyStates([
    { dependencyStates: async () => ({ primary: 'up', replicas: ['down'] }) },
    { get: async () => undefined },
    { dependencyStates: async () => ({ sessions: 'down' }) },
  ])
  assert.deepEqual(states, { primary: 'up', replicas: ['down'], sessions: 'down' })
})

test('failed invalidations are bypassed and retried until they are confirmed', async () => {
  let reachable = false
  const sent: Array<[string[], string[]]> = []
  const waiting = new UnconfirmedInvalidations(async (keys, tags) => {
    if (!reachable) throw new Error('redis down')
    sent.push([keys, tags])
  }, 30)
  waiting.add(['product:1'], ['lists'])
  assert.equal(waiting.has('product:1'), true)
  await waiting.flush()
  assert.equal(waiting.has('product:1'), true, 'still waiting while redis is down')
  reachable = true
  await sleep(100)
  assert.equal(waiting.has('product:1'), false, 'delivered by the retry timer')
  assert.deepEqual(sent, [[['product:1'], ['lists']]])
  assert.equal(waiting.size, 0)
  waiting.stop()
})
