import { OutgrowError, type Ports, type Session } from '../../src/index.js'
import { orderJson, type OrderRow } from './checkout.js'
import { lastWrite } from './read-your-writes.js'

export interface OrderItem { productId: number, name: string, qty: number, priceCents: number }

/** The user's latest orders, read at or after the session's last write (read-your-writes). */
export async function listOrders (ports: Ports, session: Session, userId: number): Promise<Array<Record<string, unknown>>> {
  const result = await ports.db.read<OrderRow>(
    'SELECT id, total_cents, status, created_at, receipt FROM orders WHERE user_id = $1 ORDER BY id DESC LIMIT 50', [userId], { after: await lastWrite(session) })
  return result.rows.map((row) => orderJson(row))
}

/** One of the user's orders with its items; 404 when it is not theirs. */
export async function findOrder (ports: Ports, session: Session, userId: number, id: number): Promise<Record<string, unknown>> {
  const after = await lastWrite(session)
  const orders = await ports.db.read<OrderRow>(
    'SELECT id, total_cents, status, created_at, receipt FROM orders WHERE id = $1 AND user_id = $2', [id, userId], { after })
  const order = orders.rows[0]
  if (order === undefined) throw new OutgrowError('OUTGROW_NOT_FOUND', `order ${id} not found`)
  const items = await ports.db.read<{ product_id: number, name: string, qty: number, price_cents: number }>(
    `SELECT i.product_id, p.name, i.qty, i.price_cents FROM order_items i JOIN products p ON p.id = i.product_id
      WHERE i.order_id = $1 ORDER BY i.product_id`, [id], { after })
  const lines: OrderItem[] = items.rows.map((i) => ({ productId: i.product_id, name: i.name, qty: i.qty, priceCents: i.price_cents }))
  return orderJson(order, lines)
}
