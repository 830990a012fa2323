import assert from 'node:assert/strict'
import { test } from 'node:test'
import { describeIncident, incidentFilter, incidentsLine } from '../../src/lab/run-incidents.js'

test('exits and leader changes after the first leader are incidents; start-up, scaling and requests are not', () => {
  const isIncident = incidentFilter()
  assert.equal(isIncident({ actor: 'ha', action: 'leader', target: 'db' }), false)
  assert.equal(isIncident({ actor: 'ha', action: 'leader', target: 'db' }), true)
  assert.equal(isIncident({ actor: 'ha', action: 'leader', target: 'other' }), false)
  assert.equal(isIncident({ actor: 'supervisor', action: 'exited', target: 'app-1' }), true)
  assert.equal(isIncident({ actor: 'supervisor', action: 'up' }), false)
  assert.equal(isIncident({ actor: 'supervisor', action: 'restart' }), false)
  assert.equal(isIncident({ actor: 'autoscaler', action: 'scale' }), false)
})

test('an incident is described by what happened and placed among the steps', () => {
  assert.equal(describeIncident({ action: 'exited', target: 'app-2', detail: 'code 1' }), 'app-2 exited: code 1')
  assert.equal(describeIncident({ action: 'leader', target: 'db', detail: 'db-replica-1 leads' }), 'db: db-replica-1 leads')
  assert.equal(incidentsLine(undefined), '')
  assert.equal(incidentsLine([]), '')
  assert.equal(incidentsLine([{ atSeconds: 12.5, step: -1, what: 'app-1 exited' }, { atSeconds: 80, step: 3, what: 'db: db-replica-1 leads' }]),
    ' ⚠ before the search (12.5 s): app-1 exited; in step 4 (80 s): db: db-replica-1 leads')
})
