import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { OutgrowError, type Ports } from '../../../src/index.js'
import { RENDER_PRODUCT_JOB, enqueueFullRender } from '../prerender.js'
import { parse } from '../validation.js'
import { countView } from '../views.js'
import { requireAdmin } from './admin.js'
import { idParam } from './catalog.js'

const renderRequest = z.object({
  /** These products' pages (a deleted product's page is removed); absent: every product's. */
  productIds: z.array(z.number().int().positive().max(2_147_483_647)).min(1).max(1000).optional(),
}).strict()

/** The routes pre-rendering needs: the static copies' view beacon, and renders on demand. */
export function prerenderRoutes (app: FastifyInstance, ports: Ports): void {
  // A pre-rendered page never reaches the app: it counts its view here (one write-behind append, no read).
  app.post('/api/products/:id/views', async (request, reply) => {
    const { id } = parse(idParam, request.params)
    await countView(ports, id)
    return await reply.code(204).send()
  })

  app.post('/api/admin/pages/render', async (request, reply) => {
    requireAdmin(request, ports.adminToken)
    const { productIds } = parse(renderRequest, request.body ?? {})
    if (ports.staticStore === undefined) throw new OutgrowError('OUTGROW_CONFLICT', 'pre-rendering is off in this stack: it has no static store (services.<name>.prerender.enabled)')
    const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`
    if (productIds === undefined) {
      await enqueueFullRender(ports, runId)
    } else {
      for (const id of new Set(productIds)) await ports.jobs.enqueue(RENDER_PRODUCT_JOB, { productId: id }, { jobId: `page-product-${id}-${runId}` })
    }
    return await reply.code(202).send({ enqueued: productIds === undefined ? 'all' : productIds.length })
  })
}
