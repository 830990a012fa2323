import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { OutgrowError, type Ports } from '../../../src/index.js'
import type { AccountOptions } from '../accounts.js'
import { listCategories, listProducts, requireProduct } from '../catalog-data.js'
import { renderCategoryBody, renderHomeBody, renderSearchBody } from '../html/catalog-pages.js'
import { viewerLinks } from '../html/layout.js'
import { renderProductPage } from '../html/product-page.js'
import { ASSETS } from '../html/scripts.js'
import { parse } from '../validation.js'
import { countView } from '../views.js'
import { accountPageRoutes } from './account-pages.js'
import { cartPageRoutes } from './cart-pages.js'
import { idParam } from './catalog.js'
import { htmlScope, sendPage } from './html-scope.js'
import { orderPageRoutes } from './order-pages.js'
import { viewerOf } from './viewer.js'

const categoryParams = z.object({ slug: z.string().min(1).max(64).regex(/^[a-z0-9-]+$/) })
const pageQuery = z.object({ page: z.coerce.number().int().min(1).max(10_000).default(1) })
const searchQuery = pageQuery.extend({ q: z.string().trim().max(100).optional().transform((q) => q === '' ? undefined : q) })
const assetParams = z.object({ name: z.string().max(64) })

/**
 * The shop in the browser: server-rendered pages over the same cached data and the same rules as
 * the JSON API. Browsing needs no JavaScript; forms post and redirect (POST/redirect/GET).
 */
export function pageRoutes (app: FastifyInstance, ports: Ports, options: AccountOptions = {}): void {
  htmlScope(app, (scope) => {
    scope.get('/', async (request, reply) => {
      const { page } = parse(pageQuery, request.query)
      const [categories, list, viewer] = await Promise.all([listCategories(ports), listProducts(ports, { page }), viewerOf(request.session)])
      return await sendPage(reply, { title: 'Products', body: renderHomeBody(categories, list), account: viewerLinks(viewer) })
    })

    scope.get('/categories/:slug', async (request, reply) => {
      const { slug } = parse(categoryParams, request.params)
      const { page } = parse(pageQuery, request.query)
      const [categories, viewer] = await Promise.all([listCategories(ports), viewerOf(request.session)])
      const category = categories.find((c) => c.slug === slug)
      if (category === undefined) throw new OutgrowError('OUTGROW_NOT_FOUND', `category ${slug} does not exist`)
      const list = await listProducts(ports, { category: slug, page })
      return await sendPage(reply, { title: category.name, body: renderCategoryBody(category, categories, list), account: viewerLinks(viewer) })
    })

    scope.get('/search', async (request, reply) => {
      const { q, page } = parse(searchQuery, request.query)
      const [list, viewer] = await Promise.all([q === undefined ? undefined : listProducts(ports, { q, page }), viewerOf(request.session)])
      const title = q === undefined ? 'Search' : `Results for ${q}`
      return await sendPage(reply, { title, body: renderSearchBody(q, list), account: viewerLinks(viewer), ...(q === undefined ? {} : { query: q }) })
    })

    // The same page for everyone (renderProductPage), so no session is read here.
    scope.get('/products/:id', async (request, reply) => {
      const { id } = parse(idParam, request.params)
      const product = await requireProduct(ports, id)
      await countView(ports, id)
      return await reply.type('text/html; charset=utf-8').send(renderProductPage(product))
    })

    scope.get('/assets/:name', async (request, reply) => {
      const { name } = parse(assetParams, request.params)
      const script = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined
      if (script === undefined) throw new OutgrowError('OUTGROW_NOT_FOUND', `no asset ${name}`)
      return await reply.header('cache-control', 'public, max-age=300').type('text/javascript; charset=utf-8').send(script)
    })

    accountPageRoutes(scope, ports, options)
    cartPageRoutes(scope, ports)
    orderPageRoutes(scope, ports)
  })
}
