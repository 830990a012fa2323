import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import pg from 'pg'
import type { LocalExecutor } from '../../src/control/executors/local.js'
import { validateSpec } from '../../src/control/validate-spec.js'
import { startControlLoop, type ControlLoop } from '../helpers/control-loop.js'
import { waitUntil } from '../helpers/wait.js'

// A stack of one cluster with its pooler and nothing else: the reconciler runs the PgBouncer as a
// unit of its own and starts it again when it dies.
const spec = validateSpec({
  emulation: { mode: 'none' },
  databases: { pg: { primary: { server: 'db' }, replicas: { count: 0, server: 'db-replica-{i}' }, pooler: { kind: 'pgbouncer', poolSize: 5 } } },
  services: {},
})

let loop: ControlLoop
let executor: LocalExecutor

before(async () => {
  loop = await startControlLoop(spec)
  executor = loop.executor
})

after(async () => {
  await loop?.stop()
})

async function selectOne (url: string): Promise<number | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 })
  await client.connect()
  try {
    return (await client.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one
  } finally {
    await client.end()
  }
}

test('the pooler unit runs PgBouncer in front of the primary; the reconciler restarts it on its port after SIGKILL', async () => {
  const pooler = executor.observe().find((u) => u.name === 'pg-pooler')
  assert.equal(pooler?.kind, 'pgbouncer')
  assert.equal(pooler.state, 'ready')
  const url = executor.addresses().get('pg-pooler') as string
  assert.notEqual(url, executor.addresses().get('pg-primary'))
  assert.equal(await selectOne(url), 1)

  process.kill(pooler.pid as number, 'SIGKILL')
  const restarted = await waitUntil(async () => {
    const now = executor.observe().find((u) => u.name === 'pg-pooler')
    return now?.state === 'ready' && now.restarts === 1
  }, 30_000)
  assert.ok(restarted, `not restarted: ${JSON.stringify(executor.observe().find((u) => u.name === 'pg-pooler'))}`)
  assert.equal(executor.addresses().get('pg-pooler'), url)
  assert.equal(await selectOne(url), 1)
})
