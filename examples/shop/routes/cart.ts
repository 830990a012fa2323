import type { FastifyInstance, FastifyRequest } from 'fastify'
import { z } from 'zod'
import { OutgrowError, type Ports } from '../../../src/index.js'
import { CART_PREFIX, MAX_CART_LINES, MAX_QTY_PER_ITEM, cartQuantities } from '../cart.js'
import { loadProducts, requireProduct } from '../catalog-data.js'
import { parse } from '../validation.js'

const addItem = z.object({
  productId: z.number().int().positive().max(2_147_483_647),
  qty: z.number().int().min(1).max(MAX_QTY_PER_ITEM),
}).strict()

const productParam = z.object({ productId: z.coerce.number().int().positive().max(2_147_483_647) })

export async function cartView (ports: Ports, request: FastifyRequest): Promise<{ items: unknown[], totalCents: number }> {
  const lines = [...(await cartQuantities(request.session))]
  const products = await loadProducts(ports, lines.map(([productId]) => productId))
  const items = []
  let totalCents = 0
  for (const [i, [productId, qty]] of lines.entries()) {
    const product = products[i]
    if (product === undefined) continue
    totalCents += product.priceCents * qty
    items.push({ productId, name: product.name, priceCents: product.priceCents, qty, lineCents: product.priceCents * qty })
  }
  items.sort((a, b) => a.productId - b.productId)
  return { items, totalCents }
}

export function cartRoutes (app: FastifyInstance, ports: Ports): void {
  app.post('/api/cart/items', async (request, reply) => {
    const input = parse(addItem, request.body)
    await requireProduct(ports, input.productId)
    const field = CART_PREFIX + String(input.productId)
    const lines = await cartQuantities(request.session)
    if (!lines.has(input.productId) && lines.size >= MAX_CART_LINES) {
      throw new OutgrowError('OUTGROW_VALIDATION', `a cart holds at most ${MAX_CART_LINES} different products`, { field: 'productId' })
    }
    // Atomic increment: two concurrent adds both land. Over the limit, the add is undone.
    const qty = await request.session.increment(field, input.qty)
    if (qty > MAX_QTY_PER_ITEM) {
      await request.session.increment(field, -input.qty)
      throw new OutgrowError('OUTGROW_VALIDATION', `at most ${MAX_QTY_PER_ITEM} of one product per cart`, { field: 'qty' })
    }
    return await reply.code(201).send({ productId: input.productId, qty })
  })

  app.delete('/api/cart/items/:productId', async (request) => {
    const { productId } = parse(productParam, request.params)
    await request.session.delete(CART_PREFIX + String(productId))
    return await cartView(ports, request)
  })

  app.get('/api/cart', async (request) => await cartView(ports, request))

  app.delete('/api/cart', async (request) => {
    const lines = await cartQuantities(request.session)
    await request.session.delete(...[...lines.keys()].map((id) => CART_PREFIX + String(id)))
    return { items: [], totalCents: 0 }
  })
}
