import assert from 'node:assert/strict'
import { test } from 'node:test'
import { cpuBound, type DemandStep } from '../../src/lab/service-demand.js'

/** A step at `rate` where the app costs `appMs` of CPU per request and the database 1 ms. */
function step (rate: number, appMs = 2, fields: Partial<DemandStep> = {}): DemandStep {
  return {
    pass: true,
    achievedRate: rate,
    cpu: {
      servers: [
        { server: 'app-1', usedCores: rate * appMs / 1000, quotaCores: 0.5 },
        { server: 'db-primary', usedCores: rate * 0.001, quotaCores: 0.5 },
        { server: 'etcd-1', usedCores: 0, quotaCores: 0.5 },
      ],
      machineBusyCores: rate * 0.005,
      machineCores: 2,
    },
    ...fields,
  }
}

test('cpuBound: each server\'s CPU per request at the top passing steps, and the server that runs out first', () => {
  const bound = cpuBound([step(50), step(80), step(128), step(205)])
  assert.ok(bound !== undefined)
  assert.equal(bound.limitedBy, 'app-1')
  assert.equal(bound.rate, 250) // 0.5 core / 2 ms
  assert.equal(bound.steps, 3, 'the three highest rates')
  const app = bound.servers.find((s) => s.server === 'app-1')
  assert.ok(app !== undefined && Math.abs(app.cpuMsPerRequest - 2) < 1e-9)
  assert.ok(Math.abs((bound.servers.find((s) => s.server === 'db-primary')?.boundRate ?? 0) - 500) < 1e-9)
  assert.ok(bound.servers.every((s) => s.server !== 'etcd-1'), 'a server that used no CPU bounds nothing')
  assert.deepEqual(bound.servers.map((s) => s.server), ['app-1', 'machine', 'db-primary'], 'lowest bound first')
})

test('cpuBound: only the top steps count — early, low-rate steps of a cold cache and unoptimized code cost more per request', () => {
  // 4 ms per request while warming up, 2 ms once warm: the bound is the warm one.
  const bound = cpuBound([step(50, 4), step(80, 4), step(128, 2), step(205, 2), step(230, 2)])
  assert.equal(bound?.rate, 250)
})

test('cpuBound: failing steps and steps without CPU readings are left out', () => {
  const saturated: DemandStep = { pass: false, achievedRate: 240, cpu: { servers: [{ server: 'app-1', usedCores: 0.5, quotaCores: 0.5 }], machineBusyCores: 1.2, machineCores: 2 } }
  const bound = cpuBound([step(50), step(100), saturated, { pass: true, achievedRate: 150 }])
  assert.equal(bound?.steps, 2)
  assert.equal(bound?.rate, 250)
  assert.equal(cpuBound([saturated]), undefined)
  assert.equal(cpuBound([]), undefined)
})

test('cpuBound: the machine\'s own cores bound a stack whose servers\' quotas add up to more than the machine', () => {
  const steps = [100, 200].map((rate) => ({
    pass: true,
    achievedRate: rate,
    cpu: {
      servers: ['app-1', 'app-2', 'app-3', 'app-4'].map((server) => ({ server, usedCores: rate * 0.001, quotaCores: 1 })),
      machineBusyCores: rate * 0.005,
      machineCores: 2,
    },
  }))
  const bound = cpuBound(steps)
  assert.equal(bound?.limitedBy, 'machine')
  assert.equal(bound?.rate, 400)
})

test('cpuBound: a bound is never below a rate the passing steps served', () => {
  // A server over its quota (its accounting shared with something else) would put the bound below the step.
  const steps = [{ pass: true, achievedRate: 200, cpu: { servers: [{ server: 'app-1', usedCores: 0.6, quotaCores: 0.5 }], machineBusyCores: 0, machineCores: 2 } }]
  assert.equal(cpuBound(steps)?.rate, 200)
})
