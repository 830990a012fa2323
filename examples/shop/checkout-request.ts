import type { FastifyRequest } from 'fastify'
import type { OutgrowError, Ports, Transaction } from '../../src/index.js'
import { cartLinesOf, orderGuardsOf } from './cart.js'
import { completeCheckout, orderJson, orderLines, placeOrder, type OrderLine, type OrderRow, type ProductVersions } from './checkout.js'
import { claimKey, isRecordableError, recordResponse, undoAfterClaim, type RecordedResponse } from './idempotency.js'

/** What the checkout transaction decided. */
type Checkout =
  | { kind: 'placed', order: OrderRow, versions: ProductVersions, lines: readonly OrderLine[] }
  | { kind: 'replayed', response: RecordedResponse, lines: readonly OrderLine[] }
  | { kind: 'failed', error: OutgrowError }

/**
 * The checkout transaction. With an Idempotency-Key it first claims the key (waiting for a copy
 * in flight, or returning what an earlier copy answered), and records its own answer — the
 * order, or a 4xx error such as out-of-stock — in the same transaction.
 */
async function runCheckout (tx: Transaction, userId: number, keyed: { key: string, hash: string } | undefined, cart: readonly OrderLine[]): Promise<Checkout> {
  if (keyed === undefined) return { kind: 'placed', ...await placeOrder(tx, userId, undefined, cart), lines: cart }
  const recorded = await claimKey(tx, userId, keyed.key, keyed.hash)
  if (recorded !== undefined) {
    const orderId = recorded.body.id
    return { kind: 'replayed', response: recorded, lines: typeof orderId === 'number' ? await orderLines(tx, orderId) : [] }
  }
  try {
    const { order, versions } = await placeOrder(tx, userId, keyed.key, cart)
    await recordResponse(tx, userId, keyed.key, { status: 201, body: JSON.parse(JSON.stringify(orderJson(order))) as Record<string, unknown> })
    return { kind: 'placed', order, versions, lines: cart }
  } catch (err) {
    if (!isRecordableError(err)) throw err
    // A refused checkout undoes its stock changes yet keeps the key and its answer.
    await undoAfterClaim(tx)
    await recordResponse(tx, userId, keyed.key, { status: err.status, body: err.toJSON() })
    return { kind: 'failed', error: err }
  }
}

/** The answer to a checkout: a new order (201), or what an earlier copy of the keyed request answered. */
export interface CheckoutAnswer { readonly status: number, readonly body: Record<string, unknown>, readonly replayed: boolean }

/**
 * Places the session's cart as an order — the JSON API's POST /api/orders and the checkout form
 * alike. A refusal (empty cart, out of stock) is thrown, also when it is a replayed one.
 * `sessionFields`: the session as the caller already read it (one read fewer), else it is read here.
 */
export async function checkoutCart (ports: Ports, request: FastifyRequest, userId: number, keyed: { key: string, hash: string } | undefined, sessionFields?: Record<string, unknown>): Promise<CheckoutAnswer> {
  const fields = sessionFields ?? await request.session.getAll()
  const lines = cartLinesOf(fields)
  const guards = orderGuardsOf(fields)
  const cart = [...lines].sort(([a], [b]) => a - b)
  const { value: outcome, position } = await ports.db.transaction(async (tx) => await runCheckout(tx, userId, keyed, cart))
  if (outcome.kind === 'failed') throw outcome.error
  if (outcome.kind === 'replayed') {
    const orderId = outcome.response.body.id
    // A replay finishes what the first copy may not have (cart, write position, cache).
    if (typeof orderId === 'number') await completeCheckout(ports, request, orderId, outcome.lines, position, undefined, guards)
    return { status: outcome.response.status, body: outcome.response.body, replayed: true }
  }
  await completeCheckout(ports, request, Number(outcome.order.id), outcome.lines, position, outcome.versions, guards)
  return { status: 201, body: orderJson(outcome.order), replayed: false }
}
