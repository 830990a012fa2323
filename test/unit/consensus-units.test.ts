import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ObservedUnit } from '../../src/control/observed.js'
import { plan } from '../../src/control/plan.js'
import { deepMerge, preset } from '../../src/control/presets.js'
import type { TopologySpec } from '../../src/control/spec.js'
import { expand, type DesiredUnit } from '../../src/control/units.js'
import { validateSpec } from '../../src/control/validate-spec.js'
import { OutgrowError } from '../../src/errors/index.js'

const specWith = (consensus: unknown): TopologySpec =>
  validateSpec(deepMerge(preset(4, 'examples/shop/service.js', { ha: false }), consensus === undefined ? {} : { consensus }))

const etcdUnits = (spec: TopologySpec): DesiredUnit[] => expand(spec).filter((u) => u.kind === 'etcd')

const observed = (u: DesiredUnit, state: ObservedUnit['state']): ObservedUnit =>
  ({ name: u.name, kind: u.kind, group: u.group, fingerprint: u.fingerprint, state, server: u.server, restarts: 0, since: 0 })

test('consensus: { members: 3 } asks for etcd-1..3 in group ha/etcd on servers etcd-{i}, depending on nothing', () => {
  const units = etcdUnits(specWith({ members: 3 }))
  assert.deepEqual(units.map((u) => [u.name, u.group, u.ordinal, u.server, u.dependsOn.length]), [
    ['etcd-1', 'ha/etcd', 1, 'etcd-1', 0],
    ['etcd-2', 'ha/etcd', 2, 'etcd-2', 0],
    ['etcd-3', 'ha/etcd', 3, 'etcd-3', 0],
  ])
  // Nothing outside consensus reshapes a member: scaling the app replaces no etcd member.
  const scaled = etcdUnits(validateSpec(deepMerge(specWith({ members: 3 }), { services: { app: { instances: { count: 5 } } } })))
  assert.deepEqual(scaled.map((u) => u.fingerprint), units.map((u) => u.fingerprint))
})

test('no consensus field: no etcd unit; members defaults to 3; the server template is honoured', () => {
  assert.deepEqual(etcdUnits(specWith(undefined)), [])
  assert.equal(etcdUnits(specWith({})).length, 3)
  assert.deepEqual(etcdUnits(specWith({ members: 5, server: 'dcs-{i}' })).map((u) => u.server), ['dcs-1', 'dcs-2', 'dcs-3', 'dcs-4', 'dcs-5'])
  assert.deepEqual(etcdUnits(specWith({ members: 1, server: 'dcs' })).map((u) => [u.name, u.server]), [['etcd-1', 'dcs']])
})

test('even member counts are refused naming consensus.members; odd ones pass', () => {
  for (const members of [2, 4, 6]) {
    assert.throws(() => specWith({ members }), (err: unknown) => err instanceof OutgrowError && err.code === 'OUTGROW_TOPOLOGY_REFUSED' && err.details?.field === 'consensus.members')
  }
  for (const members of [1, 3, 5, 7]) assert.equal(specWith({ members }).consensus?.members, members)
  assert.throws(() => specWith({ members: 0 }), (err: unknown) => err instanceof OutgrowError && err.details?.field === 'consensus.members')
})

test('a fresh cluster: the plan starts every member at once, and a member still starting holds back none of the others', () => {
  const units = etcdUnits(specWith({ members: 3 }))
  const all = expand(specWith({ members: 3 }))
  const first = plan(all, []).filter((a) => a.type === 'start' && a.unit.kind === 'etcd').map((a) => a.type === 'start' ? a.unit.name : '')
  assert.deepEqual(first, ['etcd-1', 'etcd-2', 'etcd-3'])
  // One member is already starting (waiting for a quorum): the other two are still started.
  const [one, ...rest] = units as [DesiredUnit, ...DesiredUnit[]]
  const next = plan(all, [observed(one, 'starting')]).filter((a) => a.type === 'start' && a.unit.kind === 'etcd').map((a) => a.type === 'start' ? a.unit.name : '')
  assert.deepEqual(next, rest.map((u) => u.name))
})

test('a crashed member is restarted while the others stay up', () => {
  const spec = specWith({ members: 3 })
  const units = etcdUnits(spec)
  const actions = plan(units, units.map((u) => observed(u, u.name === 'etcd-2' ? 'crashed' : 'ready')))
  assert.deepEqual(actions.map((a) => `${a.type} ${a.type === 'stop' ? a.name : a.unit.name}`), ['restart etcd-2'])
})
