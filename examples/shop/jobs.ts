import type { JobContext, JsonValue } from '../../src/index.js'

/**
 * The order confirmation, produced in the background: a rendered receipt stored with the order.
 * Idempotent, so a retried or duplicated job changes nothing twice.
 */
export async function renderReceipt (payload: JsonValue, context: JobContext): Promise<void> {
  const orderId = Number((payload as { orderId?: unknown }).orderId)
  if (!Number.isSafeInteger(orderId)) throw new Error(`bad order id in job ${context.jobId}`)
  const { value: buyer } = await context.db.transaction(async (tx) => {
    const orders = await tx.query<{ id: string, user_id: string, total_cents: string, created_at: Date, email: string, name: string, receipt: string | null }>(
      `SELECT o.id, o.user_id, o.total_cents, o.created_at, u.email, u.name, o.receipt
         FROM orders o JOIN users u ON u.id = o.user_id WHERE o.id = $1 FOR UPDATE OF o`, [orderId])
    const order = orders.rows[0]
    if (order === undefined) return undefined
    // Done by an earlier attempt whose notice may not have gone out: say it again (notices are signals; twice is harmless).
    if (order.receipt !== null) return order.user_id
    const items = await tx.query<{ name: string, qty: number, price_cents: number }>(
      `SELECT p.name, i.qty, i.price_cents FROM order_items i JOIN products p ON p.id = i.product_id WHERE i.order_id = $1 ORDER BY i.product_id`, [orderId])
    const lines = items.rows.map((i) => `${String(i.qty).padStart(3)} × ${i.name.padEnd(40)} ${(i.price_cents * i.qty / 100).toFixed(2).padStart(10)}`)
    const receipt = [
      `Receipt for order #${order.id}`,
      `Customer: ${order.name} <${order.email}>`,
      `Placed: ${order.created_at.toISOString()}`,
      '',
      ...lines,
      '',
      `Total: ${(Number(order.total_cents) / 100).toFixed(2)}`,
      `Processed by ${context.instanceId}`,
    ].join('\n')
    await tx.query(`UPDATE orders SET receipt = $2, status = 'confirmed', confirmed_at = now() WHERE id = $1`, [orderId, receipt])
    return order.user_id
  })
  // "The job is done": pushed to the buyer's open pages, on whichever instance holds them.
  if (buyer !== undefined) await context.notices.publish(`user:${buyer}`, 'order.confirmed', { orderId, status: 'confirmed', receiptReady: true })
}
