import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { PgDatabase } from '../../src/data/pg-database.js'
import { dbReadRouting, registry } from '../../src/runtime/metrics.js'
import { startEngines, type TestEngines } from '../helpers/engines.js'

let engines: TestEngines
let db: PgDatabase

before(async () => {
  engines = await startEngines({ replica: true })
  db = new PgDatabase({ primary: engines.primary.url, replicas: [engines.replica?.url as string], poolSize: 4, replicaPollMs: 10 })
  await db.write('CREATE TABLE IF NOT EXISTS notes (id serial PRIMARY KEY, body text NOT NULL)')
})
after(async () => {
  await db.close()
  await engines.stop()
})

async function routed (reason: string): Promise<number> {
  const metric = (await registry.getSingleMetric('outgrow_db_read_routing_total')?.get())?.values ?? []
  return metric.find((v) => v.labels.reason === reason)?.value ?? 0
}

test('reads go to the replica, which is a real streaming standby', async () => {
  // Give the tracker a moment to learn the replica's position.
  await new Promise((resolve) => setTimeout(resolve, 100))
  const before = await routed('replica')
  const result = await db.read<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby')
  assert.equal(result.rows[0]?.standby, true)
  assert.equal(await routed('replica'), before + 1)
  assert.ok(dbReadRouting !== undefined)
})

test('writes go to the primary and return a write position', async () => {
  const result = await db.write<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby')
  assert.equal(result.rows[0]?.standby, false)
  assert.match(result.position, /^[0-9A-F]+\/[0-9A-F]+$/)
})

test('read-your-writes: a read after a write position always sees that write', async () => {
  for (let i = 0; i < 50; i++) {
    const written = await db.write<{ id: number }>('INSERT INTO notes (body) VALUES ($1) RETURNING id', [`note ${i}`])
    const id = written.rows[0]?.id
    const read = await db.read<{ body: string }>('SELECT body FROM notes WHERE id = $1', [id], { after: written.position })
    assert.equal(read.rows[0]?.body, `note ${i}`, `write ${i} visible to its writer`)
  }
})

test('a transaction commits as a whole or not at all', async () => {
  await assert.rejects(db.transaction(async (tx) => {
    await tx.query("INSERT INTO notes (body) VALUES ('half')")
    await tx.query('SELECT * FROM no_such_table')
  }))
  const found = await db.read("SELECT 1 FROM notes WHERE body = 'half'", [], { primary: true })
  assert.equal(found.rowCount, 0)
  const { value, position } = await db.transaction(async (tx) => (await tx.query<{ n: number }>('SELECT 41 + 1 AS n')).rows[0]?.n)
  assert.equal(value, 42)
  assert.ok(position.includes('/'))
})

test('when the replica is gone, reads fall back to the primary', async () => {
  await engines.replica?.stop()
  const result = await db.read<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby')
  assert.equal(result.rows[0]?.standby, false)
  // After the tracker notices, the replica is not even tried.
  await new Promise((resolve) => setTimeout(resolve, 200))
  const behind = await routed('replica_behind')
  await db.read('SELECT 1')
  assert.equal(await routed('replica_behind'), behind + 1)
})
