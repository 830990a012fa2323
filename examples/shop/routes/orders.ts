import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { OutgrowError, type Ports, type Queryable } from '../../../src/index.js'
import { CART_PREFIX, cartQuantities } from '../cart.js'
import { productKey } from '../catalog-data.js'
import { parse } from '../validation.js'
import { currentUserId } from './account.js'
import { idParam } from './catalog.js'

const idempotencyKey = z.string().min(1).max(200).regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces').optional()
const LAST_WRITE = 'lastWrite'

interface OrderRow { id: string, total_cents: string, status: string, created_at: Date, receipt: string | null }

function orderJson (row: OrderRow, items?: unknown[]): Record<string, unknown> {
  return {
    id: Number(row.id),
    totalCents: Number(row.total_cents),
    status: row.status,
    receiptReady: row.receipt !== null,
    createdAt: row.created_at,
    ...(items === undefined ? {} : { items, receipt: row.receipt }),
  }
}

async function existingOrder (tx: Queryable, userId: number, key: string): Promise<OrderRow | undefined> {
  const found = await tx.query<OrderRow>('SELECT id, total_cents, status, created_at, receipt FROM orders WHERE user_id = $1 AND idempotency_key = $2', [userId, key])
  return found.rows[0]
}

/** A step after the order's commit: a failure is logged, and the order is still returned. */
async function afterCommit (ports: Ports, orderId: string, step: string, run: () => Promise<void>): Promise<void> {
  try {
    await run()
  } catch (err) {
    ports.log.warn({ err, orderId }, `order placed, but could not ${step}`)
  }
}

/** Thrown inside the transaction to roll it back when a concurrent retry already placed the order. */
class AlreadyPlaced extends Error {}

export function orderRoutes (app: FastifyInstance, ports: Ports): void {
  app.post('/api/orders', async (request, reply) => {
    const userId = await currentUserId(request)
    const key = parse(idempotencyKey, request.headers['idempotency-key'])
    if (key !== undefined) {
      const previous = await existingOrder({ query: async (sql, params) => await ports.db.read(sql, params, { primary: true }) }, userId, key)
      if (previous !== undefined) return await reply.code(200).send(orderJson(previous))
    }
    const lines = [...await cartQuantities(request.session)].sort(([a], [b]) => a - b)
    if (lines.length === 0) throw new OutgrowError('OUTGROW_CONFLICT', 'the cart is empty')

    let placed: { value: OrderRow, position: string }
    try {
      placed = await ports.db.transaction(async (tx) => {
        let total = 0
        const priced: Array<[number, number, number]> = []
        // Rows are locked in product-id order, so concurrent checkouts cannot deadlock.
        for (const [productId, qty] of lines) {
          const updated = await tx.query<{ price_cents: number }>(
            'UPDATE products SET stock = stock - $2, updated_at = now() WHERE id = $1 AND stock >= $2 RETURNING price_cents', [productId, qty])
          const row = updated.rows[0]
          if (row === undefined) throw new OutgrowError('OUTGROW_OUT_OF_STOCK', `not enough stock for product ${productId}`, { productId })
          total += row.price_cents * qty
          priced.push([productId, qty, row.price_cents])
        }
        const inserted = await tx.query<OrderRow>(
          `INSERT INTO orders (user_id, idempotency_key, total_cents) VALUES ($1, $2, $3)
           ON CONFLICT (user_id, idempotency_key) DO NOTHING
           RETURNING id, total_cents, status, created_at, receipt`, [userId, key ?? null, total])
        const order = inserted.rows[0]
        if (order === undefined) throw new AlreadyPlaced()
        await tx.query(
          `INSERT INTO order_items (order_id, product_id, qty, price_cents)
           SELECT $1, p, q, c FROM unnest($2::int[], $3::int[], $4::int[]) AS t(p, q, c)`,
          [order.id, priced.map((l) => l[0]), priced.map((l) => l[1]), priced.map((l) => l[2])])
        return order
      })
    } catch (err) {
      if (!(err instanceof AlreadyPlaced) || key === undefined) throw err
      const previous = await existingOrder({ query: async (sql, params) => await ports.db.read(sql, params, { primary: true }) }, userId, key)
      if (previous === undefined) throw new OutgrowError('OUTGROW_CONFLICT', 'order is being placed; retry')
      return await reply.code(200).send(orderJson(previous))
    }

    const order = placed.value
    // The order is committed: from here on a failing part (session store, cache, queue) must not
    // turn it into an error response, which would invite a retry that orders twice.
    await afterCommit(ports, order.id, 'clear the ordered items from the cart', async () => {
      // Only what was ordered leaves the cart; items added meanwhile stay.
      for (const [productId, qty] of lines) {
        const left = await request.session.increment(CART_PREFIX + String(productId), -qty)
        if (left <= 0) await request.session.delete(CART_PREFIX + String(productId))
      }
    })
    await afterCommit(ports, order.id, 'remember the write position', async () => { await request.session.set(LAST_WRITE, placed.position) })
    await ports.cache.delete(...lines.map(([productId]) => productKey(productId)))
    // A receipt not enqueued now is enqueued by the recovery in the service's onStart (orders
    // still 'placed' after 30 s).
    await afterCommit(ports, order.id, 'enqueue the receipt', async () => {
      await ports.jobs.enqueue('order.receipt', { orderId: Number(order.id) }, { jobId: `receipt-${order.id}` })
    })
    return await reply.code(201).send(orderJson(order))
  })

  app.get('/api/orders', async (request) => {
    const userId = await currentUserId(request)
    const after = await request.session.get<string>(LAST_WRITE)
    const result = await ports.db.read<OrderRow>(
      'SELECT id, total_cents, status, created_at, receipt FROM orders WHERE user_id = $1 ORDER BY id DESC LIMIT 50', [userId], { after })
    return { items: result.rows.map((row) => orderJson(row)) }
  })

  app.get('/api/orders/:id', async (request) => {
    const userId = await currentUserId(request)
    const { id } = parse(idParam, request.params)
    const after = await request.session.get<string>(LAST_WRITE)
    const orders = await ports.db.read<OrderRow>(
      'SELECT id, total_cents, status, created_at, receipt FROM orders WHERE id = $1 AND user_id = $2', [id, userId], { after })
    const order = orders.rows[0]
    if (order === undefined) throw new OutgrowError('OUTGROW_NOT_FOUND', `order ${id} not found`)
    const items = await ports.db.read<{ product_id: number, name: string, qty: number, price_cents: number }>(
      `SELECT i.product_id, p.name, i.qty, i.price_cents FROM order_items i JOIN products p ON p.id = i.product_id
        WHERE i.order_id = $1 ORDER BY i.product_id`, [id], { after })
    return orderJson(order, items.rows.map((i) => ({ productId: i.product_id, name: i.name, qty: i.qty, priceCents: i.price_cents })))
  })
}
