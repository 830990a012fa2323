import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { processTree } from '../../src/supervisor/process-tree.js'
import { postgresNodes, selectTarget, SCENARIOS, type NodeFacts, type StackNode } from '../../src/lab/chaos/scenarios.js'
import { parentPidOfStat } from '../../src/supervisor/proc-stat.js'
import { thrown } from '../helpers/thrown.js'

const node = (name: string, role: string, pid: number, url?: string, state = 'ready'): StackNode => ({ name, role, pid, url, state })
const facts = (over: Partial<{ writable: Record<string, boolean | undefined>, redisRole: Record<string, string>, etcdLeader: Record<string, boolean> }> = {}): NodeFacts => ({
  writable: new Map(Object.entries(over.writable ?? {})),
  redisRole: new Map(Object.entries(over.redisRole ?? {})),
  etcdLeader: new Map(Object.entries(over.etcdLeader ?? {})),
})

/** Level 4 today: no HA, one Redis, no etcd. */
const level4: StackNode[] = [
  node('app-2', 'app', 12), node('app-1', 'app', 11), node('app-10', 'app', 20), node('gateway', 'gateway', 10),
  node('postgres-primary', 'postgres', 30, 'postgres://postgres@127.0.0.1:5000/outgrow'),
  node('postgres-replica-1', 'postgres', 31, 'postgres://postgres@127.0.0.1:5001/outgrow'),
  node('redis', 'redis', 40, 'redis://127.0.0.1:6000'), node('worker-1', 'worker', 50),
]

/** With HA and Sentinel: the primary is whichever node says so, a pooler is no database node. */
const ha: StackNode[] = [
  node('postgres-1', 'postgres', 61, 'postgres://postgres@127.0.0.1:5101/outgrow'),
  node('postgres-2', 'postgres', 62, 'postgres://postgres@127.0.0.1:5102/outgrow'),
  node('postgres-3', 'postgres', 63, 'postgres://postgres@127.0.0.1:5103/outgrow'),
  node('pgbouncer', 'pooler', 64, 'postgres://postgres@127.0.0.1:6432/outgrow'),
  node('redis-1', 'redis', 71, 'redis://127.0.0.1:6101'), node('redis-2', 'redis', 72, 'redis://127.0.0.1:6102'),
  node('redis-sentinel-1', 'redis', 73, 'redis://127.0.0.1:26379'),
  node('etcd-1', 'consensus', 81, 'http://127.0.0.1:2379'), node('etcd-2', 'consensus', 82, 'http://127.0.0.1:2389'), node('etcd-3', 'consensus', 83, 'http://127.0.0.1:2399'),
]

describe('chaos targets', () => {
  it('kill-instance and kill-worker hit the first ready app instance and worker, in numeric name order', () => {
    assert.deepEqual(selectTarget('kill-instance', level4, facts()), { name: 'app-1', pid: 11, fault: 'kill' })
    const firstDown = level4.map((n) => n.name === 'app-1' ? { ...n, state: 'starting' } : n)
    assert.deepEqual(selectTarget('kill-instance', firstDown, facts()), { name: 'app-2', pid: 12, fault: 'kill' })
    assert.deepEqual(selectTarget('kill-worker', level4, facts()), { name: 'worker-1', pid: 50, fault: 'kill' })
  })

  it('the primary is the node that answers as writable, whatever its name', () => {
    assert.deepEqual(selectTarget('kill-primary', ha, facts({ writable: { 'postgres-1': false, 'postgres-2': true, 'postgres-3': false } })), { name: 'postgres-2', pid: 62, fault: 'kill' })
    assert.deepEqual(selectTarget('freeze-primary', level4, facts({ writable: { 'postgres-primary': true, 'postgres-replica-1': false } })), { name: 'postgres-primary', pid: 30, fault: 'freeze' })
    assert.deepEqual(postgresNodes(ha).map((n) => n.name), ['postgres-1', 'postgres-2', 'postgres-3'], 'the pooler is not probed')
  })

  it('no writable primary, or two of them, is refused before any fault', () => {
    const none = thrown(() => selectTarget('kill-primary', ha, facts({ writable: { 'postgres-1': false, 'postgres-2': undefined } })))
    assert.equal(none.code, 'OUTGROW_CHAOS_NO_TARGET')
    assert.match(none.message, /no PostgreSQL node answers as a writable primary/)
    const two = thrown(() => selectTarget('freeze-primary', ha, facts({ writable: { 'postgres-1': true, 'postgres-3': true } })))
    assert.match(two.message, /more than one writable primary.*postgres-1, postgres-3/)
  })

  it('kill-redis hits the Redis that answers ROLE as master, never a replica or a Sentinel', () => {
    assert.deepEqual(selectTarget('kill-redis', ha, facts({ redisRole: { 'redis-1': 'slave', 'redis-2': 'master', 'redis-sentinel-1': 'sentinel' } })), { name: 'redis-2', pid: 72, fault: 'kill' })
    assert.equal(thrown(() => selectTarget('kill-redis', ha, facts({ redisRole: { 'redis-sentinel-1': 'sentinel' } }))).code, 'OUTGROW_CHAOS_NO_TARGET')
  })

  it('kill-etcd-member prefers the leader, else the first ready member', () => {
    assert.deepEqual(selectTarget('kill-etcd-member', ha, facts({ etcdLeader: { 'etcd-1': false, 'etcd-3': true } })), { name: 'etcd-3', pid: 83, fault: 'kill' })
    assert.deepEqual(selectTarget('kill-etcd-member', ha, facts()), { name: 'etcd-1', pid: 81, fault: 'kill' })
  })

  it('a scenario whose target the stack lacks fails with OUTGROW_CHAOS_NO_TARGET naming what is missing', () => {
    const cases: Array<[typeof SCENARIOS[number], RegExp]> = [
      ['kill-etcd-member', /no etcd/], ['kill-worker', /no job worker/], ['kill-instance', /no app instance/], ['kill-primary', /no PostgreSQL/], ['kill-redis', /no Redis/],
    ]
    for (const [scenario, message] of cases) {
      const err = thrown(() => selectTarget(scenario, scenario === 'kill-etcd-member' ? level4 : [node('gateway', 'gateway', 1)], facts()))
      assert.equal(err.code, 'OUTGROW_CHAOS_NO_TARGET', scenario)
      assert.match(err.message, message)
    }
  })
})

describe('process trees', () => {
  it('a node is its root and every descendant, parents first; other processes are left out', () => {
    const parents = new Map([[10, 1], [11, 10], [12, 10], [13, 11], [20, 1], [21, 20]])
    assert.deepEqual(processTree(10, parents), [10, 11, 12, 13])
    assert.deepEqual(processTree(21, parents), [21])
  })

  it('reads the parent pid from /proc/<pid>/stat even when the command name holds spaces and parentheses', () => {
    assert.equal(parentPidOfStat('4242 (postgres: walsender (x) 1) S 4200 4242 4242 0 -1 4194560 ...'), 4200)
  })
})
