import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { ordersByKey } from '../../src/lab/chaos/final-check.js'
import { PgProbe } from '../../src/lab/chaos/node-probes.js'
import { PrimaryProbe } from '../../src/lab/chaos/primary-probe.js'
import { computeVerdict } from '../../src/lab/chaos/verdict.js'
import { killTree, signalAll, stopTree } from '../../src/lab/chaos/process-tree.js'
import { processTree, readParentTable } from '../../src/supervisor/process-tree.js'
import { startEngines, type TestEngines } from '../helpers/engines.js'
import { isAlive, waitFor } from '../helpers/cli.js'

let engines: TestEngines

before(async () => { engines = await startEngines({ replica: true }) })
after(async () => { await engines.stop() })

/** Runs each statement on its own (ALTER SYSTEM refuses a multi-statement string). */
async function sql (url: string, ...statements: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    for (const s of statements) await client.query(s)
  } finally {
    await client.end()
  }
}

const state = (pid: number): string => /^\d+ \(.*\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1] ?? '?'

describe('primary probes', () => {
  it('the primary is writable, the replica is not; a fenced (read-only) primary is not either', async () => {
    const primary = engines.primary.url
    const replica = (engines.replica as NonNullable<TestEngines['replica']>).url
    const probe = new PrimaryProbe({ nodes: () => [{ name: 'p', url: primary }, { name: 'r', url: replica }], now: () => 0 })
    assert.deepEqual((await probe.round()).writable, ['p'])
    await sql(primary, 'ALTER SYSTEM SET default_transaction_read_only = on', 'SELECT pg_reload_conf()')
    try {
      // The probe's kept connection sees the reload too (a backend rereads the config when idle).
      let writable = ['p']
      for (let i = 0; i < 50 && writable.length > 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100))
        writable = [...(await probe.round()).writable]
      }
      assert.deepEqual(writable, [], 'a read-only primary counts as not writable')
    } finally {
      await sql(primary, 'ALTER SYSTEM RESET default_transaction_read_only', 'SELECT pg_reload_conf()')
      await probe.stop()
    }
  })

  it('a frozen node is unreachable within the probe\'s time-out, and writable again once continued', async () => {
    const pid = engines.primary.process.pid as number
    const probe = new PgProbe(engines.primary.url, 300)
    assert.equal(await probe.writable(), true)
    const stopped = stopTree(pid)
    try {
      assert.ok(stopped.length > 1, 'the postmaster and its children are stopped')
      assert.equal(state(pid), 'T')
      assert.equal(await probe.writable(), undefined)
    } finally {
      signalAll(stopped, 'SIGCONT')
    }
    let back: boolean | undefined
    for (let i = 0; i < 50 && back !== true; i++) back = await probe.writable()
    assert.equal(back, true)
    probe.close()
  })

  it('the final check reads the run\'s orders by key on the writable node, skipping the replica', async () => {
    await sql(engines.primary.url, `CREATE TABLE IF NOT EXISTS orders (id bigserial PRIMARY KEY, idempotency_key text);
      INSERT INTO orders (idempotency_key) VALUES ('run-a-1'), ('run-a-2'), ('run-a-2'), ('run-b-1'), (NULL)`)
    const nodes = async (): Promise<Array<{ name: string, url: string }>> => [
      { name: 'replica', url: (engines.replica as NonNullable<TestEngines['replica']>).url }, { name: 'primary', url: engines.primary.url }]
    const checked = await ordersByKey(nodes, 'run-a-', 10_000)
    assert.equal(checked.primary, 'primary')
    assert.deepEqual([...checked.orders.keys()].sort(), ['run-a-1', 'run-a-2'])
    assert.equal(checked.orders.get('run-a-2')?.length, 2)
  })
})

describe('split brain', () => {
  // Last in this file: it promotes the replica.
  it('a promoted replica beside a primary that still takes writes is seen as two writable primaries, and fails the verdict', async () => {
    const replica = (engines.replica as NonNullable<TestEngines['replica']>).url
    const probe = new PrimaryProbe({ nodes: () => [{ name: 'p', url: engines.primary.url }, { name: 'r', url: replica }], now: () => 0 })
    await sql(replica, 'SELECT pg_promote(true, 30)')
    try {
      const round = await probe.round()
      assert.deepEqual([...round.writable].sort(), ['p', 'r'])
      const verdict = computeVerdict({
        scenario: 'freeze-primary', target: 'p', faultAt: 0, endedAt: 1, acks: [], requests: { sent: {}, failed: {} },
        orders: { started: 0, refused: 0, indeterminate: 0, abandoned: 0 }, probes: probe.rounds, database: new Map(),
      })
      assert.equal(verdict.twoPrimaryInstants, 1)
      assert.equal(verdict.safe, false)
    } finally {
      await probe.stop()
    }
  })
})

describe('process trees', () => {
  it('kills a process and its children, and nothing else', async () => {
    // A parent that starts a child and a bystander that is no part of its tree.
    const parent = spawn(process.execPath, ['-e', "require('node:child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }); setInterval(() => {}, 1000)"], { stdio: 'ignore' })
    const bystander = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' })
    try {
      const pid = parent.pid as number
      assert.ok(await waitFor(() => processTree(pid, readParentTable()).length === 2, 10_000), 'the child started')
      const tree = processTree(pid, readParentTable())
      assert.deepEqual(killTree(pid).sort(), [...tree].sort())
      assert.ok(await waitFor(() => tree.every((p) => !isAlive(p)), 10_000), 'parent and child are gone')
      assert.ok(isAlive(bystander.pid as number))
    } finally {
      parent.kill('SIGKILL')
      bystander.kill('SIGKILL')
    }
  })
})
