import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Action } from '../../src/control/actions.js'
import type { ObservedUnit, UnitState } from '../../src/control/observed.js'
import { converged, plan } from '../../src/control/plan.js'
import { deepMerge, preset, type Level } from '../../src/control/presets.js'
import type { TopologySpec } from '../../src/control/spec.js'
import { expand, type DesiredUnit } from '../../src/control/units.js'
import { validateSpec } from '../../src/control/validate-spec.js'
import { seededRandom } from '../../src/lab/zipf.js'

/**
 * plan() as a table, in the manner of sample-controller's controller_test.go: each case is a
 * desired spec and an observed state built from fixtures, and the actions it must produce.
 */

const MODULE = 'examples/shop/service.js'
const LEVELS: Level[] = [1, 2, 3, 4]

/** A level's preset with parts overridden (objects merge, arrays replace), validated. */
function specAt (level: Level, override: unknown = {}): TopologySpec {
  return validateSpec(deepMerge(preset(level, MODULE, { ha: false }), override))
}

const unitsAt = (level: Level, override: unknown = {}): DesiredUnit[] => expand(specAt(level, override))

/** Overrides per unit name: fields to change, or null to leave the unit out. */
type Overrides = Record<string, Partial<ObservedUnit> | null>

/**
 * What an executor would report if every unit ran as given: ready, with the unit's fingerprint,
 * then each override applied (a state, another fingerprint, or null for "not running").
 */
function observedFrom (units: readonly DesiredUnit[], overrides: Overrides = {}, extra: readonly ObservedUnit[] = []): ObservedUnit[] {
  for (const name of Object.keys(overrides)) {
    assert.ok(units.some((u) => u.name === name), `override for unknown unit ${name}`)
  }
  const out: ObservedUnit[] = []
  for (const u of units) {
    const o = overrides[u.name]
    if (o === null) continue
    out.push({ name: u.name, kind: u.kind, group: u.group, fingerprint: u.fingerprint, state: 'ready', server: u.server, restarts: 0, since: 0, ...o })
  }
  return [...out, ...extra]
}

/** Only these units run (all ready); everything else is absent. */
function onlyRunning (units: readonly DesiredUnit[], running: readonly string[], states: Record<string, UnitState> = {}): ObservedUnit[] {
  const overrides: Overrides = {}
  for (const u of units) overrides[u.name] = running.includes(u.name) ? (states[u.name] === undefined ? {} : { state: states[u.name] as UnitState }) : null
  return observedFrom(units, overrides)
}

function stray (name: string, kind: ObservedUnit['kind'], group: string, state: UnitState = 'ready'): ObservedUnit {
  return { name, kind, group, fingerprint: 'old', state, server: 'elsewhere', restarts: 0, since: 0 }
}

/** An action as one short line, so a case's expectation reads like the plan it pins. */
function line (a: Action): string {
  switch (a.type) {
    case 'start': return `start ${a.unit.name}`
    case 'restart': return `restart ${a.unit.name} (${a.reason})`
    case 'replace': return `replace ${a.unit.name}`
    case 'stop': return `stop ${a.name}${a.drain ? ' drain' : ''}`
  }
}

interface Case {
  readonly name: string
  readonly desired: readonly DesiredUnit[]
  readonly observed: readonly ObservedUnit[]
  readonly actions: readonly string[]
}

const L4 = unitsAt(4)
const L4_PRIMARY_AND_REDIS = ['postgres-primary', 'redis']
const L4_ENGINES = ['postgres-primary', 'postgres-replica-1', 'redis']
const changedPool = { services: { app: { pool: { size: 20 } } } }
const changedBalancer = { gateways: { gateway: { routes: [{ pathPrefix: '/', service: 'app', balancer: 'least-requests' }] } } }

const cases: Case[] = [
  ...LEVELS.map((level): Case => {
    const units = unitsAt(level)
    return { name: `level ${level}: plan(x, x) is empty`, desired: units, observed: observedFrom(units), actions: [] }
  }),

  // Fresh start: only what depends on nothing, then each tier once the one below is ready.
  { name: 'level 1 fresh start: the database only', desired: unitsAt(1), observed: [], actions: ['start postgres-primary'] },
  { name: 'level 3 fresh start: database and Redis, not the app', desired: unitsAt(3), observed: [], actions: ['start postgres-primary', 'start redis'] },
  { name: 'level 4 fresh start: database primary and Redis', desired: L4, observed: [], actions: ['start postgres-primary', 'start redis'] },
  { name: 'level 2: the app starts once the database is ready', desired: unitsAt(2), observed: onlyRunning(unitsAt(2), ['postgres-primary']), actions: ['start app-1'] },
  {
    name: 'level 4: primary and Redis ready start the replica and the gateway (registry only)',
    desired: L4,
    observed: onlyRunning(L4, L4_PRIMARY_AND_REDIS),
    actions: ['start postgres-replica-1', 'start gateway'],
  },
  {
    name: 'level 4: instances and workers wait for the replica too',
    desired: L4,
    observed: onlyRunning(L4, L4_ENGINES, { 'postgres-replica-1': 'starting' }),
    actions: ['start gateway'],
  },
  {
    name: 'level 4: all engines ready start workers and instances',
    desired: L4,
    observed: onlyRunning(L4, [...L4_ENGINES, 'gateway']),
    actions: ['start worker-1', 'start app-1', 'start app-2', 'start app-3'],
  },
  {
    name: 'level 4: a starting Redis holds back everything that needs it',
    desired: L4,
    observed: onlyRunning(L4, L4_PRIMARY_AND_REDIS, { redis: 'starting' }),
    actions: ['start postgres-replica-1'],
  },

  // Scaling.
  { name: 'scale up 3 → 6 starts app-4..6', desired: unitsAt(4, { services: { app: { instances: { count: 6 } } } }), observed: observedFrom(L4), actions: ['start app-4', 'start app-5', 'start app-6'] },
  {
    name: 'scale down 6 → 2 stops app-3..6, draining',
    desired: unitsAt(4, { services: { app: { instances: { count: 2 } } } }),
    observed: observedFrom(unitsAt(4, { services: { app: { instances: { count: 6 } } } })),
    actions: ['stop app-3 drain', 'stop app-4 drain', 'stop app-5 drain', 'stop app-6 drain'],
  },
  {
    name: 'workers 2 → 1 stops the highest worker, draining',
    desired: L4,
    observed: observedFrom(unitsAt(4, { workers: { worker: { instances: { count: 2 } } } })),
    actions: ['stop worker-2 drain'],
  },
  {
    name: 'scale down 3 → 1 while app-1 is crashed: app-2 keeps serving until app-1 is back',
    desired: unitsAt(4, { services: { app: { instances: { count: 1 } } } }),
    observed: observedFrom(L4, { 'app-1': { state: 'crashed' } }),
    actions: ['restart app-1 (crashed)', 'stop app-3 drain'],
  },
  {
    name: 'scale down 3 → 1 while app-1 is starting: the kept copy stops once app-1 is ready',
    desired: unitsAt(4, { services: { app: { instances: { count: 1 } } } }),
    observed: observedFrom(L4, { 'app-1': { state: 'starting' }, 'app-3': { state: 'stopping' } }),
    actions: [],
  },
  {
    name: 'scale down 3 → 1 while app-1 is missing and no surplus copy is ready: they all stop',
    desired: unitsAt(4, { services: { app: { instances: { count: 1 } } } }),
    observed: observedFrom(L4, { 'app-1': null, 'app-2': { state: 'crashed' }, 'app-3': { state: 'failed' } }),
    actions: ['start app-1', 'stop app-2 drain', 'stop app-3 drain'],
  },
  {
    name: 'a copy already stopping is not stopped again',
    desired: unitsAt(4, { services: { app: { instances: { count: 2 } } } }),
    observed: observedFrom(L4, { 'app-3': { state: 'stopping' } }),
    actions: [],
  },

  // Crashes and failed starts.
  { name: 'a crashed instance restarts', desired: L4, observed: observedFrom(L4, { 'app-2': { state: 'crashed' } }), actions: ['restart app-2 (crashed)'] },
  { name: 'a failed start is tried again', desired: L4, observed: observedFrom(L4, { 'worker-1': { state: 'failed' } }), actions: ['restart worker-1 (failed)'] },
  {
    name: 'a crashed instance waits while its database is down',
    desired: L4,
    observed: observedFrom(L4, { 'postgres-primary': { state: 'crashed' }, 'app-2': { state: 'crashed' } }),
    actions: ['restart postgres-primary (crashed)'],
  },
  {
    name: 'a crashed worker waits for a replica that is starting',
    desired: L4,
    observed: observedFrom(L4, { 'postgres-replica-1': { state: 'starting' }, 'worker-1': { state: 'crashed' } }),
    actions: [],
  },
  {
    name: 'a crashed replica restarts once its primary is ready, not before',
    desired: L4,
    observed: observedFrom(L4, { 'postgres-primary': { state: 'failed' }, 'postgres-replica-1': { state: 'crashed' } }),
    actions: ['restart postgres-primary (failed)'],
  },

  // Changed fingerprints: one replace per group at a time, only while the group is settled.
  { name: 'a changed route balancer replaces the gateway', desired: unitsAt(4, changedBalancer), observed: observedFrom(L4), actions: ['replace gateway'] },
  { name: 'a changed pool size replaces one instance at a time', desired: unitsAt(4, changedPool), observed: observedFrom(L4), actions: ['replace app-1'] },
  {
    name: 'the rolling replace moves on once the first instance is ready with the new spec',
    desired: unitsAt(4, changedPool),
    observed: observedFrom(L4, { 'app-1': { fingerprint: unitsAt(4, changedPool).find((u) => u.name === 'app-1')?.fingerprint as string } }),
    actions: ['replace app-2'],
  },
  {
    name: 'no replace while another instance of the group is starting',
    desired: unitsAt(4, changedPool),
    observed: observedFrom(L4, { 'app-1': { state: 'starting', fingerprint: 'new' } }),
    actions: [],
  },
  { name: 'no replace while an instance of the group is stopping', desired: unitsAt(4, changedPool), observed: observedFrom(L4, { 'app-3': { state: 'stopping' } }), actions: [] },
  {
    name: 'no replace while an instance of the group is crashed: it restarts first',
    desired: unitsAt(4, changedPool),
    observed: observedFrom(L4, { 'app-3': { state: 'crashed' } }),
    actions: ['restart app-3 (crashed)'],
  },
  {
    name: 'no replace while the group is still growing',
    desired: unitsAt(4, { ...changedPool, services: { app: { pool: { size: 20 }, instances: { count: 4 } } } }),
    observed: observedFrom(L4),
    actions: ['start app-4'],
  },
  {
    name: 'no replace while the group still has copies to stop',
    desired: unitsAt(4, { services: { app: { pool: { size: 20 }, instances: { count: 2 } } } }),
    observed: observedFrom(L4),
    actions: ['stop app-3 drain'],
  },
  {
    name: 'a busy group does not hold back another group',
    desired: unitsAt(4, { ...changedBalancer, ...changedPool }),
    observed: observedFrom(L4, { 'app-2': { state: 'starting' } }),
    actions: ['replace gateway'],
  },
  {
    name: 'a change to several groups replaces one unit in each',
    desired: unitsAt(4, { adminToken: 'another-admin-token' }),
    observed: observedFrom(L4),
    actions: ['replace app-1', 'replace gateway'],
  },
  {
    name: 'a replace waits for what the unit depends on (a crashed primary restarts first)',
    desired: unitsAt(4, changedPool),
    observed: observedFrom(L4, { 'postgres-primary': { state: 'crashed' } }),
    actions: ['restart postgres-primary (crashed)'],
  },
  {
    name: 'replicas 1 → 2: the new replica starts; instances and workers are replaced only once it is ready',
    desired: unitsAt(4, { databases: { postgres: { replicas: { count: 2 } } } }),
    observed: observedFrom(L4),
    actions: ['start postgres-replica-2'],
  },
  {
    name: 'replicas 1 → 2, the new replica ready: one worker and one instance are replaced',
    desired: unitsAt(4, { databases: { postgres: { replicas: { count: 2 } } } }),
    observed: observedFrom(L4).concat(observedFrom(unitsAt(4, { databases: { postgres: { replicas: { count: 2 } } } }).filter((u) => u.name === 'postgres-replica-2'))),
    actions: ['replace worker-1', 'replace app-1'],
  },
  {
    name: 'replicas 1 → 0 stops the replica (no drain) and replaces what read from it',
    desired: unitsAt(4, { databases: { postgres: { replicas: { count: 0 } } } }),
    observed: observedFrom(L4),
    actions: ['replace worker-1', 'replace app-1', 'stop postgres-replica-1'],
  },

  // Units the spec does not name.
  {
    name: 'unknown units are stopped: instances and workers drain, engines do not',
    desired: L4,
    observed: observedFrom(L4, {}, [stray('legacy-1', 'app', 'services/legacy'), stray('jobs-1', 'worker', 'workers/jobs'), stray('old-cache', 'redis', 'redis/old-cache')]),
    actions: ['stop legacy-1 drain', 'stop jobs-1 drain', 'stop old-cache'],
  },
  {
    name: 'an unknown unit that crashed is stopped too; one already stopping is left alone',
    desired: L4,
    observed: observedFrom(L4, {}, [stray('legacy-1', 'app', 'services/legacy', 'crashed'), stray('legacy-2', 'app', 'services/legacy', 'stopping')]),
    actions: ['stop legacy-1 drain'],
  },
  {
    name: 'level 4 → level 2: the extra tiers stop; the app waits for its surplus copies to go before it is replaced',
    desired: unitsAt(2),
    observed: observedFrom(L4),
    actions: ['stop postgres-replica-1', 'stop redis', 'stop worker-1 drain', 'stop app-2 drain', 'stop app-3 drain', 'stop gateway'],
  },
]

for (const c of cases) {
  test(`plan: ${c.name}`, () => {
    assert.deepEqual(plan(c.desired, c.observed).map(line), c.actions)
  })
}

test('plan: stop actions name the unit and the reason; the others carry the desired unit', () => {
  const desired = unitsAt(4, changedPool)
  const actions = plan(desired, observedFrom(L4, { 'worker-1': { state: 'crashed' } }, [stray('legacy-1', 'app', 'services/legacy')]))
  for (const a of actions) {
    if (a.type === 'stop') assert.equal(a.reason, 'not-desired')
    else assert.deepEqual(a.unit, desired.find((d) => d.name === a.unit.name), `${a.type} carries the desired unit`)
  }
  assert.ok(actions.some((a) => a.type === 'restart'))
})

test('plan: is pure (same inputs, same actions; inputs untouched)', () => {
  const desired = unitsAt(4, changedPool)
  const observed = observedFrom(L4, { 'app-3': { state: 'crashed' } })
  const before = JSON.stringify([desired, observed])
  assert.deepEqual(plan(desired, observed), plan(desired, observed))
  assert.equal(JSON.stringify([desired, observed]), before)
})

interface ConvergedCase { readonly name: string, readonly desired: readonly DesiredUnit[], readonly observed: readonly ObservedUnit[], readonly converged: boolean }

const convergedCases: ConvergedCase[] = [
  ...LEVELS.map((level): ConvergedCase => ({ name: `level ${level} running as specified`, desired: unitsAt(level), observed: observedFrom(unitsAt(level)), converged: true })),
  { name: 'nothing runs', desired: L4, observed: [], converged: false },
  { name: 'nothing desired, nothing runs', desired: [], observed: [], converged: true },
  { name: 'a unit missing', desired: L4, observed: observedFrom(L4, { 'app-3': null }), converged: false },
  { name: 'a unit starting', desired: L4, observed: observedFrom(L4, { 'app-3': { state: 'starting' } }), converged: false },
  { name: 'a unit crashed', desired: L4, observed: observedFrom(L4, { redis: { state: 'crashed' } }), converged: false },
  { name: 'a unit failed', desired: L4, observed: observedFrom(L4, { gateway: { state: 'failed' } }), converged: false },
  { name: 'a unit with an old fingerprint', desired: unitsAt(4, changedPool), observed: observedFrom(L4), converged: false },
  { name: 'an extra unit runs', desired: L4, observed: observedFrom(L4, {}, [stray('legacy-1', 'app', 'services/legacy')]), converged: false },
  { name: 'a unit replaced by an extra one (same count)', desired: L4, observed: observedFrom(L4, { 'app-3': null }, [stray('legacy-1', 'app', 'services/legacy')]), converged: false },
]

for (const c of convergedCases) {
  test(`converged: ${c.name} → ${String(c.converged)}`, () => {
    assert.equal(converged(c.desired, c.observed), c.converged)
    // Converged means there is nothing left to do.
    if (c.converged) assert.deepEqual(plan(c.desired, c.observed), [])
  })
}

// ---------------------------------------------------------------------------------------------
// Property: plan, carried out by a simulated executor, converges and never rolls a group down.

const prng = seededRandom

const BALANCERS = ['round-robin', 'least-requests', 'p2c', 'peak-ewma'] as const

function randomSpec (rand: () => number): TopologySpec {
  const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1))
  const level = int(1, 4) as Level
  const pool = { size: int(1, 12) }
  const restartedAt = rand() < 0.2 ? `r${int(1, 3)}` : undefined
  const override: Record<string, unknown> = {
    databases: { postgres: { replicas: { count: int(0, 3) } } },
    services: { app: { pool, ...(restartedAt === undefined ? {} : { restartedAt }), ...(level === 4 ? { instances: { count: int(1, 6) } } : {}) } },
  }
  if (level === 4) {
    override.workers = { worker: { instances: { count: int(1, 3) }, concurrency: int(1, 8) } }
    override.gateways = { gateway: { processes: int(1, 2), routes: [{ pathPrefix: '/', service: 'app', balancer: BALANCERS[int(0, BALANCERS.length - 1)] }] } }
  }
  return specAt(level, override)
}

interface SimUnit {
  observed: ObservedUnit
  /** What the executor is doing to it, and for how many more ticks. */
  op?: { kind: 'start' | 'stop' | 'replace-stop', ticks: number, unit?: DesiredUnit }
}

/**
 * An executor in miniature: actions take 1–3 ticks; a start (or restart) makes the unit
 * `starting` with the desired fingerprint and then `ready`; a replace stops the unit, then starts
 * it anew; a stop makes it `stopping`, then removes it. One action per unit at a time, as the
 * reconciler does.
 */
class Simulation {
  readonly units = new Map<string, SimUnit>()
  constructor (readonly rand: () => number) {}

  observe (): ObservedUnit[] { return [...this.units.values()].map((u) => u.observed) }
  busy (): boolean { return [...this.units.values()].some((u) => u.op !== undefined) }
  #ticks (): number { return 1 + Math.floor(this.rand() * 3) }

  #startAs (unit: DesiredUnit): SimUnit['op'] {
    const previous = this.units.get(unit.name)?.observed
    this.units.set(unit.name, { observed: { name: unit.name, kind: unit.kind, group: unit.group, fingerprint: unit.fingerprint, state: 'starting', server: unit.server, restarts: previous?.restarts ?? 0, since: 0 } })
    const op = { kind: 'start' as const, ticks: this.#ticks(), unit }
    ;(this.units.get(unit.name) as SimUnit).op = op
    return op
  }

  begin (action: Action): void {
    const name = action.type === 'stop' ? action.name : action.unit.name
    const current = this.units.get(name)
    if (current?.op !== undefined) return
    switch (action.type) {
      case 'start':
      case 'restart':
        this.#startAs(action.unit)
        return
      case 'replace':
        if (current === undefined) throw new Error(`replace of ${name}, which does not run`)
        current.observed = { ...current.observed, state: 'stopping' }
        current.op = { kind: 'replace-stop', ticks: this.#ticks(), unit: action.unit }
        return
      case 'stop':
        if (current === undefined) throw new Error(`stop of ${name}, which does not run`)
        current.observed = { ...current.observed, state: 'stopping' }
        current.op = { kind: 'stop', ticks: this.#ticks() }
    }
  }

  tick (): void {
    for (const [name, u] of [...this.units]) {
      if (u.op === undefined || --u.op.ticks > 0) continue
      if (u.op.kind === 'stop') this.units.delete(name)
      else if (u.op.kind === 'replace-stop') this.#startAs(u.op.unit as DesiredUnit)
      else { u.observed = { ...u.observed, state: 'ready' }; u.op = undefined }
    }
  }
}

/** A running stack from some earlier spec, with a few units crashed, failed or not running. */
function randomObserved (rand: () => number, sim: Simulation): void {
  for (const unit of expand(randomSpec(rand))) {
    const r = rand()
    if (r < 0.1) continue
    const state: UnitState = r < 0.15 ? 'crashed' : r < 0.2 ? 'failed' : 'ready'
    sim.units.set(unit.name, { observed: { name: unit.name, kind: unit.kind, group: unit.group, fingerprint: unit.fingerprint, state, server: unit.server, restarts: 0, since: 0 } })
  }
}

const readyIn = (observed: readonly ObservedUnit[], group: string): number => observed.filter((o) => o.group === group && o.state === 'ready').length

test('property: carrying out plans converges, only starts units whose dependencies are ready, and never takes a whole service group down (500 seeded cases)', () => {
  const MAX_TICKS = 400
  let replaces = 0
  for (let seed = 1; seed <= 500; seed++) {
    const rand = prng(seed)
    const sim = new Simulation(rand)
    if (rand() < 0.8) randomObserved(rand, sim)
    const spec = randomSpec(rand)
    const desired = expand(spec)
    const serviceGroups = Object.keys(spec.services).map((s) => `services/${s}`)
    let done = false
    for (let t = 0; t < MAX_TICKS && !done; t++) {
      sim.tick()
      const before = sim.observe()
      const actions = plan(desired, before)
      if (actions.length === 0 && !sim.busy()) {
        assert.ok(converged(desired, before), `seed ${seed}: plan is empty but the stack has not converged`)
        done = true
        break
      }
      const ready = new Set(before.filter((o) => o.state === 'ready').map((o) => o.name))
      for (const a of actions) {
        if (a.type !== 'stop') {
          const waiting = a.unit.dependsOn.filter((d) => !ready.has(d))
          assert.deepEqual(waiting, [], `seed ${seed} tick ${t}: ${line(a)} while ${waiting.join(', ')} not ready`)
        }
        if (a.type === 'replace') replaces++
        sim.begin(a)
      }
      const after = sim.observe()
      for (const group of serviceGroups) {
        if (readyIn(before, group) >= 2) {
          assert.ok(readyIn(after, group) >= 1, `seed ${seed} tick ${t}: ${actions.map(line).join(', ')} took every copy of ${group} down`)
        }
      }
    }
    assert.ok(done, `seed ${seed}: no convergence within ${MAX_TICKS} ticks`)
  }
  // The generator must actually exercise rolling replacement, or the group check proves nothing.
  assert.ok(replaces > 200, `only ${replaces} replaces over all cases`)
})
