import assert from 'node:assert/strict'
import { test } from 'node:test'
import { cpuBound, type DemandStep } from '../../src/lab/service-demand.js'

/** A step at `rate` where the app uses 0.05 core at rest plus 2 ms per request and the database 0.1 core plus 1 ms. */
function step (rate: number, fields: Partial<DemandStep> = {}, noise = 0): DemandStep {
  return {
    pass: true,
    achievedRate: rate,
    cpu: {
      servers: [
        { server: 'app-1', usedCores: 0.05 + rate * 0.002 + noise, quotaCores: 0.5 },
        { server: 'db-primary', usedCores: 0.1 + rate * 0.001 - noise, quotaCores: 0.5 },
        { server: 'redis-1', usedCores: 0.01, quotaCores: 0.5 },
      ],
      machineBusyCores: 0.2 + rate * 0.004,
      machineCores: 2,
    },
    ...fields,
  }
}

test('cpuBound: recovers each server\'s CPU per request and background, and names the one that runs out first', () => {
  const bound = cpuBound([step(50), step(80), step(128), step(205)])
  assert.ok(bound !== undefined)
  assert.equal(bound.limitedBy, 'app-1')
  // (0.5 - 0.05) / 0.002 = 225 req/s
  assert.equal(bound.rate, 225)
  const app = bound.servers.find((s) => s.server === 'app-1')
  assert.ok(app !== undefined)
  assert.ok(Math.abs(app.cpuMsPerRequest - 2) < 1e-6)
  assert.ok(Math.abs(app.backgroundCores - 0.05) < 1e-6)
  const db = bound.servers.find((s) => s.server === 'db-primary')
  assert.ok(db !== undefined && Math.abs(db.boundRate - 400) < 1e-6)
  assert.ok(bound.servers.every((s) => s.server !== 'redis-1'), 'a server whose use does not grow with the rate bounds nothing')
  assert.equal(bound.steps, 4)
})

test('cpuBound: failing steps and steps without CPU readings are left out', () => {
  const saturated: DemandStep = { pass: false, achievedRate: 230, cpu: { servers: [{ server: 'app-1', usedCores: 0.5, quotaCores: 0.5 }], machineBusyCores: 1.2, machineCores: 2 } }
  const bound = cpuBound([step(50), step(100), saturated, { pass: true, achievedRate: 150 }])
  assert.equal(bound?.steps, 2)
  assert.equal(bound?.rate, 225)
  assert.equal(cpuBound([saturated]), undefined)
  assert.equal(cpuBound([]), undefined)
})

test('cpuBound: the machine\'s own cores bound a stack whose servers\' quotas add up to more than the machine', () => {
  const steps = [50, 100, 200].map((rate) => ({
    pass: true,
    achievedRate: rate,
    cpu: {
      servers: ['app-1', 'app-2', 'app-3', 'app-4'].map((server) => ({ server, usedCores: rate * 0.001, quotaCores: 1 })),
      machineBusyCores: 0.1 + rate * 0.005,
      machineCores: 2,
    },
  }))
  const bound = cpuBound(steps)
  assert.equal(bound?.limitedBy, 'machine')
  assert.equal(bound?.rate, 380)
})

test('cpuBound: rates too close together for an intercept give the line through the origin', () => {
  const bound = cpuBound([step(200), step(210)])
  const app = bound?.servers.find((s) => s.server === 'app-1')
  assert.equal(app?.backgroundCores, 0)
  // Through the origin the background is folded into the per-request cost: higher than 2 ms.
  assert.ok(app !== undefined && app.cpuMsPerRequest > 2 && app.cpuMsPerRequest < 2.3)
})

test('cpuBound: a negative fitted background (noise) falls back to the line through the origin', () => {
  const steps = [50, 100, 200].map((rate, i) => ({
    pass: true,
    achievedRate: rate,
    cpu: { servers: [{ server: 'app-1', usedCores: [0.05, 0.2, 0.42][i] as number, quotaCores: 0.5 }], machineBusyCores: 0, machineCores: 2 },
  }))
  const app = cpuBound(steps)?.servers.find((s) => s.server === 'app-1')
  assert.equal(app?.backgroundCores, 0)
  assert.ok(app !== undefined && app.cpuMsPerRequest > 0)
})

test('cpuBound: a bound is never below a rate the passing steps served', () => {
  // A background over the quota (noise, or a server busy with something else) would put the bound at 0.
  const steps = [50, 100, 200].map((rate) => ({
    pass: true,
    achievedRate: rate,
    cpu: { servers: [{ server: 'app-1', usedCores: 0.6 + rate * 0.0001, quotaCores: 0.5 }], machineBusyCores: 0, machineCores: 2 },
  }))
  const bound = cpuBound(steps)
  assert.equal(bound?.rate, 200)
  assert.equal(bound?.limitedBy, 'app-1')
})
