import { randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { z } from 'zod'
import type { Ports } from '../../../src/index.js'
import { CART_PREFIX, MAX_QTY_PER_ITEM, addToCart, cartView, setCartQuantity } from '../cart.js'
import { checkoutCart } from '../checkout-request.js'
import { renderCartBody } from '../html/cart-page.js'
import { viewerLinks } from '../html/layout.js'
import { requestHash } from '../idempotency.js'
import { parse } from '../validation.js'
import { refusal, sendPage } from './html-scope.js'
import { idempotencyKey } from './orders.js'
import { viewerOf } from './viewer.js'

const productId = z.coerce.number().int().positive().max(2_147_483_647)
const addForm = z.object({ productId, qty: z.coerce.number().int().min(1).max(MAX_QTY_PER_ITEM) })
const quantityForm = z.object({ qty: z.coerce.number().int().min(0).max(MAX_QTY_PER_ITEM) })
const productParam = z.object({ productId })
const checkoutForm = z.object({ idempotencyKey: idempotencyKey.unwrap() })

/** The cart page, the add-to-cart form's target, the cart's changes and the checkout form. */
export function cartPageRoutes (app: FastifyInstance, ports: Ports): void {
  const cartPage = async (request: FastifyRequest, reply: FastifyReply, error?: { status: number, message: string }): Promise<FastifyReply> => {
    const [viewer, cart] = await Promise.all([viewerOf(request.session), cartView(ports, request.session)])
    const body = renderCartBody(cart, { signedIn: viewer.signedIn, checkoutKey: randomUUID(), ...(error === undefined ? {} : { error: error.message }) })
    return await sendPage(reply, { title: 'Your cart', body, account: viewerLinks(viewer) }, error?.status ?? 200)
  }
  /** Runs a change of the cart; a refusal shows the cart again with the reason. */
  const change = async (request: FastifyRequest, reply: FastifyReply, run: () => Promise<unknown>): Promise<FastifyReply> => {
    try {
      await run()
    } catch (err) {
      return await cartPage(request, reply, refusal(err))
    }
    return await reply.redirect('/cart', 303)
  }

  app.get('/cart', async (request, reply) => await cartPage(request, reply))

  // From a product page: a refusal there (a bad quantity, a product gone) is an error page.
  app.post('/cart/items', async (request, reply) => {
    const input = parse(addForm, request.body)
    await addToCart(ports, request.session, input.productId, input.qty)
    return await reply.redirect('/cart', 303)
  })

  app.post('/cart/items/:productId', async (request, reply) => await change(request, reply, async () => {
    const { productId } = parse(productParam, request.params)
    await setCartQuantity(ports, request.session, productId, parse(quantityForm, request.body).qty)
  }))

  app.post('/cart/items/:productId/remove', async (request, reply) => await change(request, reply, async () => {
    const { productId } = parse(productParam, request.params)
    await request.session.delete(CART_PREFIX + String(productId))
  }))

  // The form's key makes a double submit one order: the second copy waits for the first and gets its answer.
  app.post('/checkout', async (request, reply) => {
    const userId = await request.session.get<number>('userId')
    if (userId === undefined) return await reply.redirect('/login?next=%2Fcart', 303)
    let orderId: unknown
    try {
      const { idempotencyKey: key } = parse(checkoutForm, request.body)
      const answer = await checkoutCart(ports, request, userId, { key, hash: requestHash('POST', '/checkout', {}) })
      orderId = answer.body.id
    } catch (err) {
      return await cartPage(request, reply, refusal(err))
    }
    return await reply.redirect(`/orders/${String(orderId)}`, 303)
  })
}
