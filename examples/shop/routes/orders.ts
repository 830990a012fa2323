import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { OutgrowError, streamNotices, type Ports, type Transaction } from '../../../src/index.js'
import { cartQuantities } from '../cart.js'
import { completeCheckout, orderJson, orderLines, placeOrder, type OrderLine, type OrderRow } from '../checkout.js'
import { claimKey, isRecordableError, recordResponse, requestHash, type RecordedResponse } from '../idempotency.js'
import { lastWrite } from '../read-your-writes.js'
import { parse } from '../validation.js'
import { currentUserId } from './account.js'
import { idParam } from './catalog.js'

const idempotencyKey = z.string().min(1).max(200).regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces').optional()

/** What the checkout transaction decided. */
type Checkout =
  | { kind: 'placed', order: OrderRow, lines: readonly OrderLine[] }
  | { kind: 'replayed', response: RecordedResponse, lines: readonly OrderLine[] }
  | { kind: 'failed', error: OutgrowError }

/**
 * The checkout transaction. With an Idempotency-Key it first claims the key (waiting for a copy
 * in flight, or returning what an earlier copy answered), and records its own answer — the
 * order, or a 4xx error such as out-of-stock — in the same transaction.
 */
async function runCheckout (tx: Transaction, userId: number, keyed: { key: string, hash: string } | undefined, cart: readonly OrderLine[]): Promise<Checkout> {
  if (keyed === undefined) return { kind: 'placed', order: await placeOrder(tx, userId, undefined, cart), lines: cart }
  const recorded = await claimKey(tx, userId, keyed.key, keyed.hash)
  if (recorded !== undefined) {
    const orderId = recorded.body.id
    return { kind: 'replayed', response: recorded, lines: typeof orderId === 'number' ? await orderLines(tx, orderId) : [] }
  }
  // The savepoint lets a refused checkout undo its stock changes yet keep the key and its answer.
  await tx.query('SAVEPOINT checkout')
  try {
    const order = await placeOrder(tx, userId, keyed.key, cart)
    await recordResponse(tx, userId, keyed.key, { status: 201, body: JSON.parse(JSON.stringify(orderJson(order))) as Record<string, unknown> })
    return { kind: 'placed', order, lines: cart }
  } catch (err) {
    if (!isRecordableError(err)) throw err
    await tx.query('ROLLBACK TO SAVEPOINT checkout')
    await recordResponse(tx, userId, keyed.key, { status: err.status, body: err.toJSON() })
    return { kind: 'failed', error: err }
  }
}

/** The audience a user's browser listens to for the shop's notices. */
export const userAudience = (userId: number | string): string => `user:${userId}`

export function orderRoutes (app: FastifyInstance, ports: Ports): void {
  // Server-Sent Events for the logged-in user: `order.confirmed` when a receipt is ready.
  app.get('/api/events', async (request, reply) => {
    const userId = await currentUserId(request)
    await streamNotices(request, reply, ports.notices, userAudience(userId))
  })

  app.post('/api/orders', async (request, reply) => {
    const userId = await currentUserId(request)
    const key = parse(idempotencyKey, request.headers['idempotency-key'])
    const keyed = key === undefined ? undefined : { key, hash: requestHash('POST', '/api/orders', request.body) }
    const cart = [...await cartQuantities(request.session)].sort(([a], [b]) => a - b)
    const { value: outcome, position } = await ports.db.transaction(async (tx) => await runCheckout(tx, userId, keyed, cart))
    if (outcome.kind === 'failed') throw outcome.error
    if (outcome.kind === 'replayed') {
      const orderId = outcome.response.body.id
      // A replay finishes what the first copy may not have (cart, write position, cache).
      if (typeof orderId === 'number') await completeCheckout(ports, request, orderId, outcome.lines, position)
      return await reply.code(outcome.response.status).header('idempotent-replayed', 'true').send(outcome.response.body)
    }
    await completeCheckout(ports, request, Number(outcome.order.id), outcome.lines, position)
    return await reply.code(201).send(orderJson(outcome.order))
  })

  app.get('/api/orders', async (request) => {
    const userId = await currentUserId(request)
    const after = await lastWrite(request.session)
    const result = await ports.db.read<OrderRow>(
      'SELECT id, total_cents, status, created_at, receipt FROM orders WHERE user_id = $1 ORDER BY id DESC LIMIT 50', [userId], { after })
    return { items: result.rows.map((row) => orderJson(row)) }
  })

  app.get('/api/orders/:id', async (request) => {
    const userId = await currentUserId(request)
    const { id } = parse(idParam, request.params)
    const after = await lastWrite(request.session)
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
