import type { FastifyRequest } from 'fastify'
import { OutgrowError, type Ports, type Queryable, type Transaction, type WritePosition } from '../../src/index.js'
import { CART_PREFIX, ORDER_GUARD_PREFIX } from './cart.js'
import { ORDER_PLACED } from './events.js'
import { productKey } from './catalog-data.js'
import { rememberWrite } from './read-your-writes.js'

export interface OrderRow { id: string, total_cents: string, status: string, created_at: Date, receipt: string | null }
/** [productId, qty], in product-id order. */
export type OrderLine = readonly [number, number]
/** The products' versions as a transaction left them, by cache key. */
export type ProductVersions = Record<string, number>

export function orderJson (row: OrderRow, items?: unknown[]): Record<string, unknown> {
  return {
    id: Number(row.id),
    totalCents: Number(row.total_cents),
    status: row.status,
    receiptReady: row.receipt !== null,
    createdAt: row.created_at,
    ...(items === undefined ? {} : { items, receipt: row.receipt }),
  }
}

/**
 * Inside the checkout transaction: inserts the order, writes its receipt job and its order.placed
 * event to the outbox (they commit with the order or not at all: a relay hands them on after the
 * commit, whatever dies when; docs/outbox.md), and only then takes the stock and writes the items.
 * Popular products are in many carts, and their rows stay locked from the stock update until the
 * commit: taking them last, in one statement with the items and the total, holds them for one
 * round trip and the commit instead of five, so checkouts of the same product queue less.
 */
export async function placeOrder (tx: Transaction, userId: number, key: string | undefined, lines: readonly OrderLine[]): Promise<{ order: OrderRow, versions: ProductVersions }> {
  if (lines.length === 0) throw new OutgrowError('OUTGROW_CONFLICT', 'the cart is empty')
  const inserted = await tx.query<OrderRow>(
    `INSERT INTO orders (user_id, idempotency_key, total_cents) VALUES ($1, $2, 0)
     RETURNING id, total_cents, status, created_at, receipt`, [userId, key ?? null])
  const order = inserted.rows[0] as OrderRow
  const orderId = Number(order.id)
  // One id per order for each: a redelivery is the same job (a no-op) and the same event (consumers deduplicate).
  await tx.outbox.event(ORDER_PLACED, { orderId, lines: lines.map(([productId, qty]) => ({ productId, qty })) }, { id: `order-placed-${orderId}`, key: `order-${orderId}` })
  await tx.outbox.job('order.receipt', { orderId }, { jobId: `receipt-${orderId}` })
  // The rows are locked in product-id order (the sorted FOR UPDATE), so concurrent checkouts cannot
  // deadlock; a line short of stock is simply not updated, and then no item is written either.
  const updated = await tx.query<{ id: number, price_cents: number, version: string }>(
    `WITH wanted AS (SELECT * FROM unnest($2::int[], $3::int[]) AS t(id, qty)),
     locked AS (SELECT p.id FROM products p JOIN wanted w ON w.id = p.id ORDER BY p.id FOR UPDATE OF p),
     taken AS (
       UPDATE products p SET stock = p.stock - w.qty, updated_at = now(), version = p.version + 1
         FROM wanted w, locked l
        WHERE p.id = w.id AND l.id = p.id AND p.stock >= w.qty
       RETURNING p.id, p.price_cents, p.version, w.qty),
     items AS (
       INSERT INTO order_items (order_id, product_id, qty, price_cents)
       SELECT $1, id, qty, price_cents FROM taken WHERE (SELECT count(*) FROM taken) = cardinality($2::int[])),
     totalled AS (
       UPDATE orders SET total_cents = (SELECT coalesce(sum(price_cents::bigint * qty), 0) FROM taken)
        WHERE id = $1 AND (SELECT count(*) FROM taken) = cardinality($2::int[]))
     SELECT id, price_cents, version FROM taken`,
    [orderId, lines.map(([id]) => id), lines.map(([, qty]) => qty)])
  const byId = new Map(updated.rows.map((row) => [row.id, row]))
  let total = 0
  // The versions this transaction gives the products: the rows stay locked until it commits, so
  // they are what the invalidation after the commit must raise the cache's versions to.
  const versions: ProductVersions = {}
  for (const [productId, qty] of lines) {
    const row = byId.get(productId)
    // The first line (in product-id order) short of stock is named; the caller rolls back the others.
    if (row === undefined) throw new OutgrowError('OUTGROW_OUT_OF_STOCK', `not enough stock for product ${productId}`, { productId })
    total += row.price_cents * qty
    versions[productKey(productId)] = Number(row.version)
  }
  return { order: { ...order, total_cents: String(total) }, versions }
}

/** What an order contains, read inside a transaction (a replayed checkout needs it). */
export async function orderLines (tx: Queryable, orderId: number): Promise<OrderLine[]> {
  const items = await tx.query<{ product_id: number, qty: number }>('SELECT product_id, qty FROM order_items WHERE order_id = $1 ORDER BY product_id', [orderId])
  return items.rows.map((i) => [i.product_id, i.qty])
}

/**
 * The products' versions now (at least what this checkout gave them), so an admin's write-through
 * of an older version that arrives after this invalidation is refused. Without them (the read
 * failed) the invalidation still happens. Read only by a replay: the first copy has them from
 * its transaction.
 */
async function productVersions (ports: Ports, lines: readonly OrderLine[], position: WritePosition): Promise<ProductVersions | undefined> {
  try {
    const found = await ports.db.read<{ id: number, version: string }>('SELECT id, version FROM products WHERE id = ANY($1::int[])', [lines.map(([id]) => id)], { after: position })
    return Object.fromEntries(found.rows.map((row) => [productKey(row.id), Number(row.version)]))
  } catch (err) {
    ports.log.warn({ err }, 'product versions not read; the products are invalidated without them')
    return undefined
  }
}

/** A step after the order's commit: a failure is logged, and the order is still returned. */
async function afterCommit (ports: Ports, orderId: number, step: string, run: () => Promise<void>): Promise<void> {
  try {
    await run()
  } catch (err) {
    ports.log.warn({ err, orderId }, `order placed, but could not ${step}`)
  }
}

/**
 * Everything after a checkout committed, run by the request that placed the order and again by
 * every replay of it, so a step that failed the first time is done by a retry. Each step is
 * idempotent. A failing part (session store, cache, queue) must not turn the committed order
 * into an error response, which would invite a retry that orders twice. The steps touch different
 * things (the cart's fields, the write position, the cache), so they go out together: on a small
 * server each round trip it waits for alone can cost a CPU period. `versions` are the products'
 * versions from the order's transaction; a replay, which has none, reads them. `guards`: the ids of
 * the orders whose clean-up this session had recorded when the request read it (orderGuardsOf).
 */
export async function completeCheckout (ports: Ports, request: FastifyRequest, orderId: number, lines: readonly OrderLine[], position: WritePosition, versions?: ProductVersions, guards: readonly number[] = []): Promise<void> {
  await Promise.all([
    afterCommit(ports, orderId, 'clear the ordered items from the cart', async () => {
      // A newer order from this session took the cart as it was then: this order's lines were
      // either cleared already or ordered again by it and cleared with it. Either way, not again.
      if (guards.some((id) => id > orderId)) return
      // Once per session and order: a replay must not take away items added since.
      if (await request.session.increment(ORDER_GUARD_PREFIX + String(orderId), 1) !== 1) return
      // Only what was ordered leaves the cart; items added meanwhile stay. One field per line. The
      // older orders' guards go too — the check above covers them — so a session keeps one or two
      // guards, not one per order it ever placed (each one was read with the session on every request).
      const stale = guards.filter((id) => id < orderId).map((id) => ORDER_GUARD_PREFIX + String(id))
      await Promise.all([
        ...lines.map(async ([productId, qty]) => {
          const left = await request.session.increment(CART_PREFIX + String(productId), -qty)
          if (left <= 0) await request.session.delete(CART_PREFIX + String(productId))
        }),
        ...(stale.length === 0 ? [] : [request.session.delete(...stale)]),
      ])
    }),
    afterCommit(ports, orderId, 'remember the write position', async () => { await rememberWrite(request.session, position) }),
    afterCommit(ports, orderId, 'invalidate the cached products', async () => {
      const keys = lines.map(([productId]) => productKey(productId))
      await ports.cache.invalidate({ keys, after: position, versions: versions ?? await productVersions(ports, lines, position) })
    }),
  ])
  // The receipt job and order.placed are not sent from here: placeOrder wrote them to the outbox.
}
