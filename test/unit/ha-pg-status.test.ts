import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseLsn } from '../../src/ha/lsn.js'
import { diverged, followedPeer, parseConninfo, parseSyncStandbyNames, syncStandbyNames, type RawStatus } from '../../src/ha/pg-status.js'

test('synchronous_standby_names: written as ANY 1 of quoted names, a reserved name when empty, read back', () => {
  assert.equal(syncStandbyNames(['b', 'c']), 'ANY 1 ("b", "c")')
  assert.equal(syncStandbyNames([]), 'ANY 1 ("outgrow_no_standby")')
  assert.deepEqual(parseSyncStandbyNames('ANY 1 ("c", "b")'), ['b', 'c'])
  assert.deepEqual(parseSyncStandbyNames(syncStandbyNames([])), [])
  assert.deepEqual(parseSyncStandbyNames(''), [])
})

test('a replica follows a member only through the conninfo and slot follow() writes', () => {
  const peers = { a: { host: '127.0.0.1', port: 5001 }, b: { host: '127.0.0.1', port: 5002 } }
  const base: RawStatus = { recovery: true, lsn: 0, timeline: 1, readOnly: true, conninfo: '', slot: 'b', syncNames: '', streaming: true }
  const ours = { ...base, conninfo: 'host=127.0.0.1 port=5001 user=postgres application_name=b connect_timeout=2' }
  assert.equal(followedPeer(ours, 'b', 'b', peers), 'a')
  assert.equal(followedPeer({ ...ours, slot: '' }, 'b', 'b', peers), null, 'no slot')
  const basebackup = { ...base, conninfo: "user=postgres passfile='/x/.pgpass' channel_binding=prefer host=127.0.0.1 port=5001 sslmode=prefer" }
  assert.equal(parseConninfo(basebackup.conninfo).passfile, '/x/.pgpass')
  assert.equal(followedPeer(basebackup, 'b', 'b', peers), null, 'a pg_basebackup -R clone follows nobody yet')
})

test('divergence: a replica past the point where the leader left its timeline must be rewound', () => {
  const history = '1\t0/4005558\tno recovery target specified\n'
  const leader = { timeline: 2, history }
  assert.equal(diverged({ timeline: 1, lsn: parseLsn('0/4005558') ?? 0 }, leader), false)
  assert.equal(diverged({ timeline: 1, lsn: parseLsn('0/4005600') ?? 0 }, leader), true)
  assert.equal(diverged({ timeline: 2, lsn: 10 ** 9 }, leader), false, 'same timeline')
  assert.equal(diverged({ timeline: 3, lsn: 0 }, leader), true, 'a timeline the leader never had')
})
