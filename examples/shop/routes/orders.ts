import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { streamNotices, type Ports } from '../../../src/index.js'
import { checkoutCart } from '../checkout-request.js'
import { requestHash } from '../idempotency.js'
import { findOrder, listOrders } from '../order-reads.js'
import { parse } from '../validation.js'
import { currentUserId, userIdOf } from './account.js'
import { idParam } from './catalog.js'

export const idempotencyKey = z.string().min(1).max(200).regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces').optional()

/** The audience a user's browser listens to for the shop's notices. */
export const userAudience = (userId: number | string): string => `user:${userId}`

export function orderRoutes (app: FastifyInstance, ports: Ports): void {
  // Server-Sent Events for the logged-in user: `order.confirmed` when a receipt is ready.
  app.get('/api/events', async (request, reply) => {
    const userId = await currentUserId(request)
    await streamNotices(request, reply, ports.notices, userAudience(userId))
  })

  app.post('/api/orders', async (request, reply) => {
    // The whole session at once: the user and the cart in one read.
    const fields = await request.session.getAll()
    const userId = userIdOf(fields)
    const key = parse(idempotencyKey, request.headers['idempotency-key'])
    const keyed = key === undefined ? undefined : { key, hash: requestHash('POST', '/api/orders', request.body) }
    const answer = await checkoutCart(ports, request, userId, keyed, fields)
    if (answer.replayed) void reply.header('idempotent-replayed', 'true')
    return await reply.code(answer.status).send(answer.body)
  })

  app.get('/api/orders', async (request) => {
    const userId = await currentUserId(request)
    return { items: await listOrders(ports, request.session, userId) }
  })

  app.get('/api/orders/:id', async (request) => {
    const userId = await currentUserId(request)
    const { id } = parse(idParam, request.params)
    return await findOrder(ports, request.session, userId, id)
  })
}
