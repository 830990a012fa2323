import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { test } from 'node:test'
import { actionTarget, type Action } from '../../src/control/actions.js'
import { EventLog, type StackEvent } from '../../src/control/event-log.js'
import type { ObservedUnit } from '../../src/control/observed.js'
import { deepMerge, preset, type Level } from '../../src/control/presets.js'
import { Reconciler, type Executor } from '../../src/control/reconciler.js'
import type { TopologySpec } from '../../src/control/spec.js'
import { expand } from '../../src/control/units.js'
import { validateSpec } from '../../src/control/validate-spec.js'
import { OutgrowError } from '../../src/errors/index.js'

const MODULE = 'examples/shop/service.js'
const specAt = (level: Level, override: unknown = {}): TopologySpec => validateSpec(deepMerge(preset(level, MODULE, { ha: false }), override))

interface Call { readonly type: Action['type'], readonly target: string, readonly at: number }

/**
 * An executor that runs nothing: it records every action, keeps observed state as a real one
 * would (starting → ready, or failed; stopping → gone) and can be told to fail a unit's next
 * starts, to hold actions until released, or to report an exit.
 */
class FakeExecutor extends EventEmitter implements Executor {
  readonly units = new Map<string, ObservedUnit>()
  readonly calls: Call[] = []
  /** Starts of a unit still to fail. */
  readonly failNext = new Map<string, number>()
  /** Problems seen while executing (two actions on one unit, a start before its dependencies). */
  readonly violations: string[] = []
  /** When set, actions wait for release() before they finish. */
  hold = false
  readonly #held: Array<() => void> = []
  readonly #inFlight = new Set<string>()
  readonly #now: () => number

  constructor (now: () => number = Date.now) {
    super()
    this.#now = now
  }

  observe (): ObservedUnit[] { return [...this.units.values()] }

  callsFor (target: string): Call[] { return this.calls.filter((c) => c.target === target) }

  release (): void {
    for (const r of this.#held.splice(0)) r()
  }

  get heldCount (): number { return this.#held.length }

  async execute (action: Action): Promise<void> {
    const target = actionTarget(action)
    this.calls.push({ type: action.type, target, at: this.#now() })
    if (this.#inFlight.has(target)) this.violations.push(`two actions at once on ${target}`)
    this.#inFlight.add(target)
    try {
      if (action.type !== 'stop') {
        const notReady = action.unit.dependsOn.filter((d) => this.units.get(d)?.state !== 'ready')
        if (notReady.length > 0) this.violations.push(`${action.type} ${target} before ${notReady.join(', ')}`)
      }
      if (this.hold) await new Promise<void>((resolve) => this.#held.push(resolve))
      else await Promise.resolve()
      if (action.type === 'stop') { this.units.delete(target); return }
      const { unit } = action
      const previous = this.units.get(unit.name)
      const observed = { name: unit.name, kind: unit.kind, group: unit.group, fingerprint: unit.fingerprint, server: unit.server, restarts: (previous?.restarts ?? 0) + (action.type === 'restart' ? 1 : 0), since: this.#now() }
      const failures = this.failNext.get(unit.name) ?? 0
      if (failures > 0) {
        this.failNext.set(unit.name, failures - 1)
        this.units.set(unit.name, { ...observed, state: 'failed', detail: 'port in use' })
        throw new Error(`${unit.name} did not come up: port in use\nsecond line of the log`)
      }
      this.units.set(unit.name, { ...observed, state: 'ready' })
    } finally {
      this.#inFlight.delete(target)
    }
  }

  /** A running unit dies, as the OS would report it. */
  crash (name: string, detail: string): void {
    const u = this.units.get(name)
    assert.ok(u !== undefined, `${name} does not run`)
    this.units.set(name, { ...u, state: 'crashed', detail })
    this.emit('exit', name, detail)
  }
}

/** Lets queued callbacks, promise reactions and setImmediate hops run (no real time passes). */
async function turns (n = 20): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve))
}

/** Waits (a bounded number of event-loop turns, never wall-clock time) until cond holds. */
async function until (cond: () => boolean, what: string, maxTurns = 2000): Promise<void> {
  for (let i = 0; i < maxTurns; i++) {
    if (cond()) return
    await new Promise<void>((resolve) => setImmediate(resolve))
  }
  assert.fail(`gave up waiting for ${what}`)
}

/** A clock the test moves; the reconciler's back-off reads it through the `now` option. */
class TestClock {
  t = 1_000_000
  readonly now = (): number => this.t
}

function setup (level: Level, options: { clock?: TestClock, spec?: TopologySpec } = {}): { reconciler: Reconciler, executor: FakeExecutor, events: EventLog, clock: TestClock } {
  const clock = options.clock ?? new TestClock()
  const executor = new FakeExecutor(clock.now)
  const events = new EventLog(undefined)
  const reconciler = new Reconciler({ executor, events, spec: options.spec ?? specAt(level), now: clock.now, resyncMs: 60_000 })
  return { reconciler, executor, events, clock }
}

const outcome = (e: StackEvent): string => `${e.action} ${e.result}`
const eventsFor = (events: EventLog, target: string): string[] => events.since().filter((e) => e.target === target).map(outcome)

test('a fresh start reaches convergence, starts every unit once after its dependencies and logs each start', async (t) => {
  const { reconciler, executor, events } = setup(4)
  t.after(() => { reconciler.stop() })
  reconciler.kick()
  await until(() => reconciler.isConverged(), 'convergence')
  await reconciler.waitConverged(60_000)
  const names = expand(reconciler.spec).map((u) => u.name)
  assert.deepEqual(executor.calls.map((c) => c.target).sort(), [...names].sort(), 'one start per unit')
  assert.ok(executor.calls.every((c) => c.type === 'start'))
  assert.deepEqual(executor.violations, [])
  for (const name of names) {
    assert.deepEqual(eventsFor(events, name), ['start ok'], name)
  }
  const first = events.since().find((e) => e.target === 'postgres-primary')
  assert.equal(first?.actor, 'reconciler')
  assert.match(first?.detail ?? '', /^start postgres-primary on db-primary in \d+ ms$/)
  assert.deepEqual(reconciler.pending(), [])
})

test('a failing start is retried after 0.5 s, 1 s, 2 s of back-off, and not before', async (t) => {
  const { reconciler, executor, events, clock } = setup(2)
  t.after(() => { reconciler.stop() })
  executor.failNext.set('postgres-primary', 3)
  const start = clock.t
  reconciler.kick()
  const failures = (): StackEvent[] => events.since().filter((e) => e.target === 'postgres-primary' && e.result === 'failed')

  for (const [n, delay] of [[1, 500], [2, 1000], [3, 2000]] as const) {
    await until(() => failures().length === n, `failure ${n}`)
    assert.match(failures()[n - 1]?.detail ?? '', new RegExp(`^postgres-primary did not come up: port in use; next try in ${delay} ms$`), 'first line of the error and the delay')
    // Nothing happens before the delay is up, however often the loop runs.
    clock.t += delay - 1
    reconciler.kick()
    await turns()
    assert.equal(executor.callsFor('postgres-primary').length, n, `no retry ${delay - 1} ms after failure ${n}`)
    clock.t += 1
    reconciler.kick()
    await until(() => executor.callsFor('postgres-primary').length === n + 1, `retry ${n}`)
  }
  await until(() => reconciler.isConverged(), 'convergence')
  assert.deepEqual(executor.callsFor('postgres-primary').map((c) => [c.type, c.at - start]), [['start', 0], ['restart', 500], ['restart', 1500], ['restart', 3500]])
  assert.deepEqual(eventsFor(events, 'postgres-primary'), ['start failed', 'restart failed', 'restart failed', 'restart ok'])
  assert.deepEqual(executor.violations, [])
  assert.equal(executor.callsFor('app-1').length, 1, 'the app started once, after the database came up')
})

test('waitConverged rejects once a unit has failed maxFailures times in a row, not before', async (t) => {
  const { reconciler, executor, events, clock } = setup(2)
  t.after(() => { reconciler.stop() })
  executor.failNext.set('postgres-primary', Infinity)
  let settled: unknown
  const waiting = reconciler.waitConverged(10 * 60_000, 3).then(() => { settled = 'resolved' }, (err: unknown) => { settled = err })
  reconciler.kick()
  const failures = (): number => events.since().filter((e) => e.target === 'postgres-primary' && e.result === 'failed').length
  for (let n = 1; n <= 2; n++) {
    await until(() => failures() === n, `failure ${n}`)
    await turns()
    assert.equal(settled, undefined, `still waiting after ${n} failures`)
    clock.t += 30_000 // past any back-off
    reconciler.kick()
  }
  await until(() => settled !== undefined, 'waitConverged to settle')
  await waiting
  assert.ok(settled instanceof OutgrowError, `rejected with an OutgrowError, got ${String(settled)}`)
  assert.equal(settled.code, 'OUTGROW_ENGINE_START_FAILED')
  assert.match(settled.message, /^postgres-primary failed to start 3 times: postgres-primary did not come up: port in use/)
  assert.equal(executor.callsFor('app-1').length, 0, 'nothing that needs the database was started')
})

test('waitConverged rejects at its deadline naming what is not ready', async (t) => {
  const { reconciler, executor, clock } = setup(2)
  t.after(() => { reconciler.stop() })
  executor.failNext.set('postgres-primary', Infinity)
  const waiting = reconciler.waitConverged(5000)
  reconciler.kick()
  await until(() => executor.calls.length === 1, 'the first start')
  clock.t += 5001
  reconciler.kick()
  await assert.rejects(waiting, /the stack did not converge in 5000 ms: postgres-primary failed \(port in use\)/)
})

test('an exit marks the unit crashed; it restarts after back-off and the log reads exited, then restart ok', async (t) => {
  const { reconciler, executor, events, clock } = setup(2)
  t.after(() => { reconciler.stop() })
  reconciler.kick()
  await until(() => reconciler.isConverged(), 'convergence')

  executor.crash('app-1', 'exit code 1')
  assert.equal(reconciler.isConverged(), false)
  const exited = events.since().at(-1)
  assert.deepEqual({ actor: exited?.actor, action: exited?.action, target: exited?.target, result: exited?.result, detail: exited?.detail }, { actor: 'supervisor', action: 'exited', target: 'app-1', result: 'observed', detail: 'exit code 1' })
  await turns()
  assert.equal(executor.callsFor('app-1').length, 1, 'no restart within the back-off')
  clock.t += 500
  reconciler.kick()
  await until(() => reconciler.isConverged(), 'the restart')
  assert.deepEqual(executor.callsFor('app-1').map((c) => c.type), ['start', 'restart'])
  assert.equal(executor.units.get('app-1')?.restarts, 1)
  assert.deepEqual(eventsFor(events, 'app-1'), ['start ok', 'exited observed', 'restart ok'])
})

test('a unit that keeps crashing waits longer each time', async (t) => {
  const { reconciler, executor, clock } = setup(2)
  t.after(() => { reconciler.stop() })
  reconciler.kick()
  await until(() => reconciler.isConverged(), 'convergence')
  for (const [n, delay] of [[1, 500], [2, 1000], [3, 2000]] as const) {
    executor.crash('app-1', 'SIGSEGV')
    clock.t += delay - 1
    reconciler.kick()
    await turns()
    assert.equal(executor.callsFor('app-1').length, n, `crash ${n}: no restart before ${delay} ms`)
    clock.t += 1
    reconciler.kick()
    await until(() => executor.callsFor('app-1').length === n + 1 && reconciler.isConverged(), `restart ${n}`)
  }
})

test('apply of a spec that cannot work is refused, logged as refused, and changes nothing', async (t) => {
  const { reconciler, executor, events } = setup(2)
  t.after(() => { reconciler.stop() })
  reconciler.kick()
  await until(() => reconciler.isConverged(), 'convergence')
  const before = reconciler.spec
  const callsBefore = executor.calls.length

  const bad = deepMerge(preset(2, MODULE), { services: { app: { instances: { count: 3 } } } })
  assert.throws(() => reconciler.apply(bad, 'api'), (err: unknown) => err instanceof OutgrowError && err.code === 'OUTGROW_TOPOLOGY_REFUSED' && err.details?.field === 'services.app.instances')
  const refused = events.since().at(-1)
  assert.equal(refused?.actor, 'api')
  assert.equal(refused?.action, 'apply')
  assert.equal(refused?.result, 'refused')
  assert.match(refused?.detail ?? '', /^topology refused: services\.app\.instances: /)

  assert.throws(() => reconciler.apply({ databases: {} }, 'cli', 'scale'), (err: unknown) => err instanceof OutgrowError && err.code === 'OUTGROW_CONFIG_INVALID')
  assert.deepEqual([events.since().at(-1)?.action, events.since().at(-1)?.result], ['scale', 'refused'])

  assert.equal(reconciler.spec, before, 'the running spec is the same object')
  await turns()
  assert.equal(executor.calls.length, callsBefore, 'no action followed the refusals')
  assert.ok(reconciler.isConverged())
})

test('apply of a valid spec is logged and acted on', async (t) => {
  const { reconciler, executor, events } = setup(4)
  t.after(() => { reconciler.stop() })
  reconciler.kick()
  await until(() => reconciler.isConverged(), 'convergence')
  const applied = reconciler.apply(deepMerge(preset(4, MODULE, { ha: false }), { services: { app: { instances: { count: 4 } } } }), 'cli', 'scale', 'app 3 → 4')
  assert.equal(reconciler.spec, applied)
  assert.deepEqual(events.since().at(-1) && { actor: events.since().at(-1)?.actor, action: events.since().at(-1)?.action, result: events.since().at(-1)?.result, detail: events.since().at(-1)?.detail }, { actor: 'cli', action: 'scale', result: 'ok', detail: 'app 3 → 4' })
  await until(() => reconciler.isConverged(), 'the new instance')
  assert.deepEqual(executor.callsFor('app-4').map((c) => c.type), ['start'])
})

test('at most one action is in flight per unit, however often the loop runs', async (t) => {
  const { reconciler, executor } = setup(4)
  t.after(() => { reconciler.stop() })
  executor.hold = true
  reconciler.kick()
  await until(() => executor.heldCount === 2, 'the two first starts')
  for (let i = 0; i < 5; i++) { reconciler.kick(); await turns(5) }
  assert.deepEqual(executor.calls.map((c) => c.target), ['postgres-primary', 'redis'])
  assert.equal(reconciler.isConverged(), false, 'not converged while actions are in flight')

  // A scale-in while instances are starting: the stop waits for the start of the same unit.
  executor.release()
  await until(() => executor.heldCount === 2, 'replica and gateway')
  executor.release()
  await until(() => executor.heldCount === 4, 'worker and three instances')
  reconciler.apply(deepMerge(preset(4, MODULE, { ha: false }), { services: { app: { instances: { count: 2 } } } }), 'cli', 'scale')
  for (let i = 0; i < 5; i++) { reconciler.kick(); await turns(5) }
  assert.equal(executor.callsFor('app-3').length, 1, 'no stop of app-3 while its start is in flight')
  executor.hold = false
  executor.release()
  await until(() => reconciler.isConverged(), 'convergence')
  assert.deepEqual(executor.callsFor('app-3').map((c) => c.type), ['start', 'stop'])
  assert.deepEqual(executor.violations, [])
})

test('stop() ends the loop: no more actions, and waitConverged rejects', async () => {
  const { reconciler, executor } = setup(2)
  executor.hold = true
  reconciler.kick()
  await until(() => executor.heldCount === 1, 'the first start')
  const waiting = reconciler.waitConverged(60_000)
  reconciler.stop()
  executor.hold = false
  executor.release()
  await assert.rejects(waiting, /stopped/)
  reconciler.kick()
  await turns()
  assert.deepEqual(executor.calls.map((c) => c.target), ['postgres-primary'])
})

test('settled() waits for the actions under way; with a bound, it gives up and says so', async () => {
  const { reconciler, executor } = setup(2)
  executor.hold = true
  reconciler.kick()
  await until(() => executor.heldCount === 1, 'the first start')
  reconciler.stop()
  // A start that waits on something that will not come (a standby on a failing leader) must not hold a stop.
  assert.equal(await reconciler.settled(20), false, 'still under way after the bound')
  const settling = reconciler.settled()
  executor.hold = false
  executor.release()
  assert.equal(await settling, true)
  assert.equal(await reconciler.settled(20), true, 'nothing under way')
})
