import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ServerCpu } from '../../src/lab/cpu-window.js'
import { atRest } from '../../src/lab/quiet-start.js'

function server (name: string, utilization: number): ServerCpu {
  return { server: name, residents: [], usedCores: utilization / 4, quotaCores: 0.25, utilization, throttledShare: 0, source: 'cgroup' }
}

test('at rest: under the threshold, or back at the floor an earlier reading found for the server', () => {
  const floors = new Map<string, number>()
  // First reading: judged by the threshold alone; etcd's 16 % keeps the stack from rest.
  const first = atRest([server('etcd-1', 0.16), server('app-1', 0.05)], floors, 0.15)
  assert.equal(first.quiet, false)
  assert.equal(first.busiest, 'etcd-1 at 16 % of its quota', 'no floor known yet')
  // etcd at 19 %: within 5 points of its floor. The app is quiet too.
  assert.equal(atRest([server('etcd-1', 0.19), server('app-1', 0.08)], floors, 0.15).quiet, true)
  // A backlog after a step: the primary well above its floor is not at rest, and is named.
  const after = atRest([server('etcd-1', 0.17), server('db-primary', 0.6), server('app-1', 0.1)], floors, 0.15)
  assert.equal(after.quiet, false)
  assert.equal(after.busiest, 'db-primary at 60 % of its quota', 'its first reading: no floor yet')
  // The floor is the lowest reading: a busy reading does not raise it.
  assert.equal(floors.get('db-primary'), 0.6)
  atRest([server('db-primary', 0.3)], floors, 0.15)
  assert.equal(floors.get('db-primary'), 0.3)
  assert.deepEqual(atRest([server('db-primary', 0.4)], floors, 0.15), { quiet: false, busiest: 'db-primary at 40 % of its quota, its floor 30 %' }, '10 points above its floor')
  assert.equal(atRest([server('db-primary', 0.1)], floors, 0.15).quiet, true)
})

test('at rest: an empty reading is at rest', () => {
  assert.deepEqual(atRest([], new Map(), 0.15), { quiet: true, busiest: '' })
})
