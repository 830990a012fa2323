import type { DeferredWrite, Ports, Queryable } from '../../src/index.js'

/** The write-behind stream of product page views. */
export const VIEWS_STREAM = 'product.views'

/**
 * Counts a view of a product page through write-behind: the request pays one Redis append, not
 * a row lock on a hot product. A count that cannot be queued is logged, not an error page: a
 * view counter is not worth failing the page it counts.
 */
export async function countView (ports: Ports, productId: number): Promise<void> {
  try {
    await ports.writeBehind.append(VIEWS_STREAM, String(productId), 1)
  } catch (err) {
    ports.log.warn({ err, productId }, 'product view not counted')
  }
}

/**
 * Applies a batch of views: one row change per product however many views it got (the
 * aggregation is what makes write-behind cheaper than an UPDATE per view). Views of a product
 * that does not exist are skipped, never an error that would block the batch.
 */
export async function applyViews (batch: readonly DeferredWrite[], tx: Queryable): Promise<void> {
  const counts = new Map<number, number>()
  for (const write of batch) {
    const id = Number(write.key)
    const by = typeof write.payload === 'number' ? write.payload : 0
    if (Number.isSafeInteger(id) && Number.isSafeInteger(by) && by > 0) counts.set(id, (counts.get(id) ?? 0) + by)
  }
  if (counts.size === 0) return
  // Sorted: concurrent batches lock rows in one order.
  const ids = [...counts.keys()].sort((a, b) => a - b)
  await tx.query(
    `INSERT INTO product_views (product_id, views)
     SELECT v.id, v.n FROM unnest($1::int[], $2::bigint[]) AS v(id, n) JOIN products p ON p.id = v.id
     ON CONFLICT (product_id) DO UPDATE SET views = product_views.views + EXCLUDED.views`,
    [ids, ids.map((id) => counts.get(id))])
}
