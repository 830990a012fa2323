import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import type { Ports } from '../../../src/index.js'
import { listCategories, listProducts, requireProduct } from '../catalog-data.js'
import { parse } from '../validation.js'

export const idParam = z.object({ id: z.coerce.number().int().positive().max(2_147_483_647) })

const listQuery = z.object({
  category: z.string().trim().min(1).max(64).regex(/^[a-z0-9-]+$/).optional(),
  q: z.string().trim().min(1).max(100).optional(),
  page: z.coerce.number().int().min(1).max(10_000).default(1),
})

export function catalogRoutes (app: FastifyInstance, ports: Ports): void {
  app.get('/api/categories', async () => ({ items: await listCategories(ports) }))

  app.get('/api/products', async (request) => {
    const query = parse(listQuery, request.query)
    return await listProducts(ports, query)
  })

  app.get('/api/products/:id', async (request) => {
    const { id } = parse(idParam, request.params)
    return await requireProduct(ports, id)
  })
}
