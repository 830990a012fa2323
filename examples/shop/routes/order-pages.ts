import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Ports } from '../../../src/index.js'
import { viewerLinks } from '../html/layout.js'
import { renderOrderBody, renderOrdersBody, type OrderDetail, type OrderSummary } from '../html/order-pages.js'
import { findOrder, listOrders } from '../order-reads.js'
import { parse } from '../validation.js'
import { idParam } from './catalog.js'
import { sendPage } from './html-scope.js'
import { viewerOf } from './viewer.js'

const toLogin = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> =>
  await reply.redirect(`/login?next=${encodeURIComponent(request.url)}`, 303)

/** The buyer's order history and each order's page (read-your-writes: a new order is there at once). */
export function orderPageRoutes (app: FastifyInstance, ports: Ports): void {
  app.get('/orders', async (request, reply) => {
    const viewer = await viewerOf(request.session)
    if (viewer.userId === undefined) return await toLogin(request, reply)
    const orders = await listOrders(ports, request.session, viewer.userId) as unknown as OrderSummary[]
    return await sendPage(reply, { title: 'Your orders', body: renderOrdersBody(orders), account: viewerLinks(viewer) })
  })

  app.get('/orders/:id', async (request, reply) => {
    const { id } = parse(idParam, request.params)
    const viewer = await viewerOf(request.session)
    if (viewer.userId === undefined) return await toLogin(request, reply)
    const order = await findOrder(ports, request.session, viewer.userId, id) as unknown as OrderDetail
    return await sendPage(reply, { title: `Order #${order.id}`, body: renderOrderBody(order), account: viewerLinks(viewer), scripts: ['order-status.js'] })
  })
}
