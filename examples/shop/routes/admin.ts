import type { FastifyInstance, FastifyRequest } from 'fastify'
import { z } from 'zod'
import { OutgrowError, bearerTokenMatches, type Ports } from '../../../src/index.js'
import { LISTS_TAG, productKey } from '../catalog-data.js'
import { PRODUCT_CHANGED } from '../events.js'
import { parse } from '../validation.js'
import { idParam } from './catalog.js'

const productUpdate = z.object({
  priceCents: z.number().int().min(0).max(100_000_000).optional(),
  stock: z.number().int().min(0).max(10_000_000).optional(),
}).strict().refine((v) => v.priceCents !== undefined || v.stock !== undefined, 'priceCents or stock is required')

function requireAdmin (request: FastifyRequest, token: string): void {
  const header = request.headers.authorization
  if (header === undefined) throw new OutgrowError('OUTGROW_UNAUTHENTICATED', 'admin token required (Authorization: Bearer …)')
  if (!bearerTokenMatches(header, token)) throw new OutgrowError('OUTGROW_FORBIDDEN', 'wrong admin token')
}

export function adminRoutes (app: FastifyInstance, ports: Ports): void {
  app.put('/api/admin/products/:id', async (request) => {
    requireAdmin(request, ports.adminToken)
    const { id } = parse(idParam, request.params)
    const input = parse(productUpdate, request.body)
    const result = await ports.db.write<{ id: number, price_cents: number, stock: number }>(
      `UPDATE products SET price_cents = COALESCE($2, price_cents), stock = COALESCE($3, stock), updated_at = now()
        WHERE id = $1 RETURNING id, price_cents, stock`, [id, input.priceCents ?? null, input.stock ?? null])
    const row = result.rows[0]
    if (row === undefined) throw new OutgrowError('OUTGROW_NOT_FOUND', `product ${id} does not exist`)
    // Invalidation on write: the product page and every list that may show it; their next loads
    // read at or after this write.
    await ports.cache.invalidate({ keys: [productKey(id)], tags: [LISTS_TAG], after: result.position })
    // For every other consumer (and a second, at-least-once invalidation should this one have
    // failed open). Until the transactional outbox exists, a crash between the write and this
    // publish loses the event (docs/events.md).
    await ports.events.publish(PRODUCT_CHANGED, { productId: row.id, priceCents: row.price_cents, stock: row.stock, position: result.position }, { key: `product-${row.id}` })
    return { id: row.id, priceCents: row.price_cents, stock: row.stock }
  })
}
