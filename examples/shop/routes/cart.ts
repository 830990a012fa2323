import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import type { Ports } from '../../../src/index.js'
import { MAX_QTY_PER_ITEM, addToCart, cartQuantities, cartView, CART_PREFIX } from '../cart.js'
import { parse } from '../validation.js'

const addItem = z.object({
  productId: z.number().int().positive().max(2_147_483_647),
  qty: z.number().int().min(1).max(MAX_QTY_PER_ITEM),
}).strict()

const productParam = z.object({ productId: z.coerce.number().int().positive().max(2_147_483_647) })

export function cartRoutes (app: FastifyInstance, ports: Ports): void {
  app.post('/api/cart/items', async (request, reply) => {
    const input = parse(addItem, request.body)
    const qty = await addToCart(ports, request.session, input.productId, input.qty)
    return await reply.code(201).send({ productId: input.productId, qty })
  })

  app.delete('/api/cart/items/:productId', async (request) => {
    const { productId } = parse(productParam, request.params)
    await request.session.delete(CART_PREFIX + String(productId))
    return await cartView(ports, request.session)
  })

  app.get('/api/cart', async (request) => await cartView(ports, request.session))

  app.delete('/api/cart', async (request) => {
    const lines = await cartQuantities(request.session)
    await request.session.delete(...[...lines.keys()].map((id) => CART_PREFIX + String(id)))
    return { items: [], totalCents: 0 }
  })
}
