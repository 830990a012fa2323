import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import pg from 'pg'
import { resetStatements, topStatements } from '../../src/lab/pg-statements.js'
import { postgresBinDir } from '../../src/supervisor/engines/binaries.js'
import { createStatementStatsExtension } from '../../src/supervisor/engines/pg-statement-stats.js'
import { startEngines, type TestEngines } from '../helpers/engines.js'

let engines: TestEngines
let primary: pg.Client
let replica: pg.Client

before(async () => {
  // A missing PostgreSQL fails here with OUTGROW_ENGINE_MISSING and an install hint.
  engines = await startEngines({ replica: true })
  // Created on the primary as a stack does; the replica must get it by replication.
  assert.ok(await createStatementStatsExtension(engines.primary.url, postgresBinDir()),
    `pg_stat_statements.so is not installed beside ${postgresBinDir()}: apt-get install postgresql (Debian ships it in postgresql-NN)`)
  primary = new pg.Client({ connectionString: engines.primary.url })
  await primary.connect()
  await primary.query('CREATE TABLE measured_items (id int PRIMARY KEY, n int NOT NULL)')
  await primary.query('INSERT INTO measured_items SELECT i, i % 97 FROM generate_series(1, 20000) AS i')
  assert.ok(await engines.replica?.catchUpWith(engines.primary.options.port), 'the replica replayed the extension and the table')
  replica = new pg.Client({ connectionString: engines.replica?.url })
  await replica.connect()
})

after(async () => {
  await primary?.end()
  await replica?.end()
  await engines?.stop()
})

/** A scan repeated 200 times, among cheap statements: it must top the list. */
async function runKnownWorkload (client: pg.Client): Promise<void> {
  for (let i = 0; i < 200; i++) {
    await client.query('SELECT count(*) FROM measured_items WHERE n % $1 = 0', [(i % 7) + 2])
    if (i % 20 === 0) await client.query('SELECT $1::int + 1', [i])
  }
}

for (const side of ['primary', 'replica'] as const) {
  test(`the statement run most on the ${side} tops its list, with its calls, time and share`, async () => {
    const client = side === 'primary' ? primary : replica
    const url = side === 'primary' ? engines.primary.url : engines.replica?.url as string
    await resetStatements(url)
    await runKnownWorkload(client)
    const top = await topStatements(url, 5)
    assert.match(top[0]?.query ?? '', /FROM measured_items WHERE n % \$1 = \$2/, JSON.stringify(top))
    assert.equal(top[0]?.calls, 200)
    assert.equal(top[0]?.rows, 200)
    assert.ok((top[0]?.share ?? 0) > 0.5 && (top[0]?.share ?? 0) <= 1, `share ${top[0]?.share}`)
    assert.ok(Math.abs((top[0]?.meanMs ?? 0) * 200 - (top[0]?.totalMs ?? 0)) < 1e-6)
    assert.ok(top.every((s) => !s.query.includes('pg_stat_statements')), 'its own queries are left out')
    assert.equal(top.find((s) => s.query.includes('$1::int + $2'))?.calls, 10)
    assert.ok(top.length <= 5)
  })
}

test('a reset forgets what was counted', async () => {
  await runKnownWorkload(primary)
  await resetStatements(engines.primary.url)
  assert.deepEqual(await topStatements(engines.primary.url), [])
})
