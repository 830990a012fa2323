import assert from 'node:assert/strict'
import { test } from 'node:test'
import { PgDatabase } from '../../src/data/pg-database.js'
import { OutgrowError } from '../../src/errors/index.js'
import { adapterLog } from '../../src/runtime/log.js'
import { fakePools, FakeServer } from '../helpers/fake-pg.js'

/** A transaction's round trips on a fake primary: what a busy server makes every request wait for. */
adapterLog.level = 'silent'

async function primary (): Promise<{ server: FakeServer, db: PgDatabase, trips: () => string[] }> {
  const server = new FakeServer('a')
  const db = new PgDatabase({ primary: 'fake://a', replicas: [] }, { pools: fakePools(server) })
  await db.write('SELECT 1')
  const from = server.sent.length
  // The port's own tracker polls are not the transaction's.
  return { server, db, trips: () => server.sent.slice(from).filter((sql) => !sql.includes('pg_last_wal_replay_lsn')) }
}

test('BEGIN goes with a first statement without parameters, and pending outbox entries go as one INSERT', async () => {
  const { db, trips } = await primary()
  try {
    await db.transaction(async (tx) => {
      await tx.query("SET LOCAL lock_timeout = '3s'")
      await tx.query('INSERT INTO t VALUES ($1)', [1])
      await tx.outbox.event('order.placed', { orderId: 1 })
      await tx.outbox.job('order.receipt', { orderId: 1 })
      await tx.query('UPDATE t SET n = $1', [2])
    })
    const sent = trips()
    assert.equal(sent[0], "BEGIN; SET LOCAL lock_timeout = '3s'")
    assert.equal(sent[1], 'INSERT INTO t VALUES ($1)')
    assert.match(sent[2] ?? '', /^INSERT INTO outgrow_outbox .* VALUES \(\$1, \$2, \$3, \$4, \$5\), \(\$6, \$7, \$8, \$9, \$10\)$/)
    assert.equal(sent[3], 'UPDATE t SET n = $1')
    assert.equal(sent[4], 'COMMIT')
    assert.equal(sent.length, 6, `${sent.join(' | ')}: one trip each for BEGIN with SET, the INSERT, the outbox, the UPDATE, COMMIT and the position`)
  } finally {
    await db.close()
  }
})

test('a first statement with parameters goes after a BEGIN of its own; entries given last are written before COMMIT', async () => {
  const { db, trips } = await primary()
  try {
    await db.transaction(async (tx) => {
      await tx.query('INSERT INTO t VALUES ($1)', [1])
      await tx.outbox.job('order.receipt', { orderId: 1 })
    })
    const sent = trips()
    assert.deepEqual(sent.slice(0, 2), ['BEGIN', 'INSERT INTO t VALUES ($1)'])
    assert.match(sent[2] ?? '', /^INSERT INTO outgrow_outbox /)
    assert.equal(sent[3], 'COMMIT')
  } finally {
    await db.close()
  }
})

test('a failed first statement is rolled back; a transaction that ran nothing sends no BEGIN', async () => {
  const { server, db, trips } = await primary()
  try {
    server.fenced = true
    await assert.rejects(db.transaction(async (tx) => { await tx.query('DELETE FROM t') }))
    assert.deepEqual(trips().slice(0, 2), ['BEGIN; DELETE FROM t', 'ROLLBACK'])
    server.fenced = false
    const before = trips().length
    const { value } = await db.transaction(async () => 7)
    assert.equal(value, 7)
    assert.ok(trips().slice(before).every((sql) => !/BEGIN|COMMIT/.test(sql)), trips().slice(before).join(' | '))
  } finally {
    await db.close()
  }
})

test('when the trip with BEGIN fails, later statements fail with it and nothing commits, even if its error was caught', async () => {
  const { db, trips } = await primary()
  try {
    let later: unknown
    await assert.rejects(db.transaction(async (tx) => {
      // Sent at once: the INSERT must not run before the first trip says whether BEGIN ran.
      const [first, second] = await Promise.allSettled([tx.query('SYNTAX ERROR'), tx.query('INSERT INTO t VALUES ($1)', [1])])
      assert.equal(first.status, 'rejected')
      later = second.status === 'rejected' ? second.reason : undefined
    }), (err: unknown) => err instanceof OutgrowError && err.code === 'OUTGROW_INTERNAL' && /first statement failed/.test(err.message))
    assert.equal((later as { code?: string } | undefined)?.code, '42601', 'the later statement failed with the first one\'s error')
    assert.deepEqual(trips().filter((sql) => !sql.includes('pg_walfile_name')), ['BEGIN; SYNTAX ERROR', 'ROLLBACK'])
  } finally {
    await db.close()
  }
})

test('statements sent at once after a BEGIN of its own go in the order they were given', async () => {
  const { db, trips } = await primary()
  try {
    await db.transaction(async (tx) => {
      await Promise.all([tx.query('INSERT INTO t VALUES ($1)', [1]), tx.query('UPDATE t SET n = $1', [2])])
    })
    assert.deepEqual(trips().slice(0, 4), ['BEGIN', 'INSERT INTO t VALUES ($1)', 'UPDATE t SET n = $1', 'COMMIT'])
  } finally {
    await db.close()
  }
})

test('a transaction whose COMMIT the server answers with ROLLBACK is an error, not a write', async () => {
  const server = new FakeServer('a')
  const db = new PgDatabase({ primary: 'fake://a', replicas: [] }, {
    pools: (url) => {
      const pool = fakePools(server)(url)
      return {
        ...pool,
        connect: async () => {
          const client = await pool.connect()
          // As PostgreSQL answers COMMIT in a transaction a failed statement aborted.
          return { ...client, query: async (sql, params) => sql === 'COMMIT' ? { rows: [], rowCount: null, command: 'ROLLBACK' } : await client.query(sql, params) }
        },
      }
    },
  })
  try {
    await assert.rejects(db.transaction(async (tx) => { await tx.query('INSERT INTO t VALUES ($1)', [1]) }),
      (err: unknown) => err instanceof OutgrowError && err.code === 'OUTGROW_INTERNAL' && /rolled back at COMMIT/.test(err.message))
  } finally {
    await db.close()
  }
})
