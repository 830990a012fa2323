import { OutgrowError } from '../../errors/index.js'
import { PgProbe } from './node-probes.js'
import type { ProbedNode } from './primary-probe.js'

const ORDERS_SQL = `SELECT idempotency_key AS key, array_agg(id ORDER BY id)::text[] AS ids
  FROM orders WHERE starts_with(idempotency_key, $1) GROUP BY idempotency_key`

/**
 * The end of the run, as Jepsen does it: the orders of this run's keys read directly in SQL on
 * the current primary (the node that says it is writable), not through the application. Waits
 * for a primary up to timeoutMs (a restarted or promoted one may still be coming up).
 */
export async function ordersByKey (nodes: () => Promise<readonly ProbedNode[]>, keyPrefix: string, timeoutMs: number): Promise<{ primary: string, orders: Map<string, number[]> }> {
  const deadline = Date.now() + timeoutMs
  const asked = new Set<string>()
  for (;;) {
    for (const node of await nodes().catch(() => [])) {
      asked.add(node.name)
      const probe = new PgProbe(node.url, 2000)
      try {
        if (await probe.writable() !== true) continue
        const rows = await probe.query<{ key: string, ids: string[] }>(ORDERS_SQL, [keyPrefix], 30_000)
        return { primary: node.name, orders: new Map(rows.map((r) => [r.key, r.ids.map(Number)])) }
      } catch {
        // Not the primary after all, or gone: ask the next one.
      } finally {
        probe.close()
      }
    }
    if (Date.now() >= deadline) {
      throw new OutgrowError('OUTGROW_CHAOS_CHECK_FAILED', `no PostgreSQL node answered as a writable primary within ${Math.round(timeoutMs / 1000)} s after the run (asked ${[...asked].join(', ') || 'none'}): the ack log could not be checked against the database`)
    }
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
}
