import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { ACTION_TYPES, actionTarget, describeAction, type Action } from '../../src/control/actions.js'
import { UNIT_STATES, type UnitState } from '../../src/control/observed.js'
import { deepMerge, preset } from '../../src/control/presets.js'
import { UNIT_KINDS, expand, type DesiredUnit, type UnitKind } from '../../src/control/units.js'
import { validateSpec } from '../../src/control/validate-spec.js'

/**
 * The control plane's closed sets (action types, unit kinds, unit states): each list must match
 * its union type exactly, checked by the compiler, and every member must be handled.
 */

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
// Compile-time: these fail to type-check if a list and its union drift apart.
const actionTypesMatch: Same<typeof ACTION_TYPES[number], Action['type']> = true
const unitKindsMatch: Same<typeof UNIT_KINDS[number], UnitKind> = true
const unitStatesMatch: Same<typeof UNIT_STATES[number], UnitState> = true

/** An exhaustive switch: adding a member to the Action union without a case breaks the build. */
function sample (type: Action['type'], unit: DesiredUnit): Action {
  switch (type) {
    case 'start': return { type, unit, reason: 'missing' }
    case 'restart': return { type, unit, reason: 'crashed' }
    case 'replace': return { type, unit, reason: 'changed' }
    case 'stop': return { type, name: unit.name, drain: true, reason: 'not-desired' }
    default: {
      const unhandled: never = type
      throw new Error(`unhandled action type ${String(unhandled)}`)
    }
  }
}

const units = expand(validateSpec(deepMerge(preset(4, 'examples/shop/service.js', { ha: false }), { databases: { postgres: { pooler: { kind: 'pgbouncer' } } }, consensus: { members: 3 } })))
const app = units.find((u) => u.kind === 'app') as DesiredUnit
/** The level 4 preset as it is: PostgreSQL as HA nodes, Redis under Sentinels. */
const haUnits = expand(validateSpec(preset(4, 'examples/shop/service.js')))

test('ACTION_TYPES lists each action type once, and each has a description and a target', () => {
  assert.ok(actionTypesMatch)
  assert.equal(new Set(ACTION_TYPES).size, ACTION_TYPES.length)
  const lines = ACTION_TYPES.map((type) => {
    const action = sample(type, app)
    assert.equal(action.type, type)
    assert.equal(actionTarget(action), 'app-1')
    return describeAction(action)
  })
  assert.deepEqual(lines, ['start app-1 on app-1', 'restart app-1 (crashed)', 'replace app-1 (spec changed)', 'stop app-1 (drain)'])
})

test('UNIT_KINDS lists each kind once; level 4 with a pooler and consensus, and level 4 with HA, use every one of them', () => {
  assert.ok(unitKindsMatch)
  assert.equal(new Set(UNIT_KINDS).size, UNIT_KINDS.length)
  assert.deepEqual([...new Set([...units, ...haUnits].map((u) => u.kind))].sort(), [...UNIT_KINDS].sort())
})

test('UNIT_STATES lists each state once', () => {
  assert.ok(unitStatesMatch)
  assert.equal(new Set(UNIT_STATES).size, UNIT_STATES.length)
  assert.deepEqual([...UNIT_STATES].sort(), ['crashed', 'failed', 'ready', 'starting', 'stopping'])
})

const topologyDoc = new URL('../../../docs/topology.md', import.meta.url)

test('docs/topology.md documents every unit kind, state and action', () => {
  const doc = readFileSync(topologyDoc, 'utf8')
  for (const word of [...UNIT_KINDS, ...UNIT_STATES, ...ACTION_TYPES]) assert.ok(doc.includes(`\`${word}\``), `docs/topology.md mentions \`${word}\``)
})
