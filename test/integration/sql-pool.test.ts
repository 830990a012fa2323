import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { pgPoolFactory } from '../../src/data/sql-pool.js'
import { startEngines, type TestEngines } from '../helpers/engines.js'

let engines: TestEngines
before(async () => { engines = await startEngines({}) })
after(async () => { await engines.stop() })

const limits = { poolSize: 2, connectTimeoutMs: 2000, statementTimeoutMs: 10_000 }
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }
const backend = async (pool: ReturnType<ReturnType<typeof pgPoolFactory>>): Promise<number> =>
  (await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid as number

test('an idle pooled connection is kept for poolIdleTimeoutMs and closed after it', async () => {
  // Timers fire in the order they expire: the pool's idle timer (1 s) before the test's 1.5 s wait.
  const shortLived = pgPoolFactory({ ...limits, poolIdleTimeoutMs: 1000 })(engines.primary.url)
  const kept = pgPoolFactory({ ...limits, poolIdleTimeoutMs: 60_000 })(engines.primary.url)
  try {
    const [first, keptFirst] = [await backend(shortLived), await backend(kept)]
    await sleep(1500)
    assert.notEqual(await backend(shortLived), first, 'closed once idle past its time-out, then opened anew')
    assert.equal(await backend(kept), keptFirst, 'the same server process answers within the time-out')
  } finally {
    await shortLived.end()
    await kept.end()
  }
})
