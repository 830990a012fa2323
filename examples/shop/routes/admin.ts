import type { FastifyInstance, FastifyRequest } from 'fastify'
import { z } from 'zod'
import { OutgrowError, bearerTokenMatches, type Ports } from '../../../src/index.js'
import { LISTS_TAG, PRODUCT_TTL, productKey, type Product } from '../catalog-data.js'
import { PRODUCT_CHANGED } from '../events.js'
import { parse } from '../validation.js'
import { idParam } from './catalog.js'

const productUpdate = z.object({
  priceCents: z.number().int().min(0).max(100_000_000).optional(),
  stock: z.number().int().min(0).max(10_000_000).optional(),
}).strict().refine((v) => v.priceCents !== undefined || v.stock !== undefined, 'priceCents or stock is required')

export function requireAdmin (request: FastifyRequest, token: string): void {
  const header = request.headers.authorization
  if (header === undefined) throw new OutgrowError('OUTGROW_UNAUTHENTICATED', 'admin token required (Authorization: Bearer …)')
  if (!bearerTokenMatches(header, token)) throw new OutgrowError('OUTGROW_FORBIDDEN', 'wrong admin token')
}

export function adminRoutes (app: FastifyInstance, ports: Ports): void {
  app.put('/api/admin/products/:id', async (request) => {
    requireAdmin(request, ports.adminToken)
    const { id } = parse(idParam, request.params)
    const input = parse(productUpdate, request.body)
    // `version` rises with every write of the row: the cache keeps the newest written value.
    const result = await ports.db.write<{ id: number, name: string, description: string, category: string, price_cents: number, stock: number, version: string }>(
      `UPDATE products p SET price_cents = COALESCE($2, p.price_cents), stock = COALESCE($3, p.stock), updated_at = now(), version = p.version + 1
         FROM categories c WHERE p.id = $1 AND c.id = p.category_id
       RETURNING p.id, p.name, p.description, c.name AS category, p.price_cents, p.stock, p.version`, [id, input.priceCents ?? null, input.stock ?? null])
    const row = result.rows[0]
    if (row === undefined) throw new OutgrowError('OUTGROW_NOT_FOUND', `product ${id} does not exist`)
    // Write-through: the product page gets the new price now rather than a miss; a slower request
    // that wrote an older version, or a load that read the row before this write, cannot replace it.
    const product: Product = { id: row.id, name: row.name, description: row.description, category: row.category, priceCents: row.price_cents, stock: row.stock }
    const writtenThrough = await ports.cache.setVersioned(productKey(id), product, PRODUCT_TTL, { version: Number(row.version), after: result.position })
    // Lists are many entries per product: invalidated, and their next loads read at or after this write.
    await ports.cache.invalidate({ tags: [LISTS_TAG], after: result.position })
    // For every other consumer (and a second, at-least-once invalidation should this one have
    // failed open). Until the transactional outbox exists, a crash between the write and this
    // publish loses the event (docs/events.md).
    await ports.events.publish(PRODUCT_CHANGED, { productId: row.id, priceCents: row.price_cents, stock: row.stock, position: result.position, writtenThrough }, { key: `product-${row.id}` })
    return { id: row.id, priceCents: row.price_cents, stock: row.stock }
  })
}
