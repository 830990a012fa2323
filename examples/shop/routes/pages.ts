import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { OutgrowError, type Ports } from '../../../src/index.js'
import { listCategories, listProducts, requireProduct } from '../catalog-data.js'
import { renderProductPage } from '../html/product-page.js'
import { parse } from '../validation.js'
import { countView } from '../views.js'
import { idParam } from './catalog.js'

const categoryParams = z.object({ slug: z.string().min(1).max(64).regex(/^[a-z0-9-]+$/) })
const pageQuery = z.object({ page: z.coerce.number().int().min(1).max(10_000).default(1) })

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
const price = (cents: number): string => `$${(cents / 100).toFixed(2)}`

function layout (title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} · Outgrow Shop</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}a{color:#0b57d0}li{margin:.2rem 0}</style>
</head><body><header><a href="/">Outgrow Shop</a></header><main>${body}</main></body></html>`
}

const categoryLinks = (categories: Array<{ slug: string, name: string }>): string =>
  `<p>${categories.map((c) => `<a href="/categories/${escapeHtml(c.slug)}">${escapeHtml(c.name)}</a>`).join(' · ')}</p>`
const productList = (items: Array<{ id: number, name: string, priceCents: number }>): string =>
  `<ul>${items.map((p) => `<li><a href="/products/${p.id}">${escapeHtml(p.name)}</a> — ${price(p.priceCents)}</li>`).join('')}</ul>`

/** Minimal HTML pages over the same cached data as the JSON API; they link to HTML pages only. */
export function pageRoutes (app: FastifyInstance, ports: Ports): void {
  app.get('/', async (_request, reply) => {
    const [categories, page] = await Promise.all([listCategories(ports), listProducts(ports, { page: 1 })])
    const body = `<h1>Products</h1>\n${categoryLinks(categories)}\n${productList(page.items)}`
    return await reply.type('text/html; charset=utf-8').send(layout('Products', body))
  })

  app.get('/categories/:slug', async (request, reply) => {
    const { slug } = parse(categoryParams, request.params)
    const { page } = parse(pageQuery, request.query)
    const categories = await listCategories(ports)
    const category = categories.find((c) => c.slug === slug)
    if (category === undefined) throw new OutgrowError('OUTGROW_NOT_FOUND', `category ${slug} does not exist`)
    const products = await listProducts(ports, { category: slug, page })
    const pager = [
      page > 1 ? `<a href="/categories/${escapeHtml(slug)}?page=${page - 1}">← Previous</a>` : '',
      products.hasMore ? `<a href="/categories/${escapeHtml(slug)}?page=${page + 1}">Next →</a>` : '',
    ].filter((link) => link !== '').join(' · ')
    const body = `<h1>${escapeHtml(category.name)}</h1>\n${categoryLinks(categories)}\n${productList(products.items)}\n<p>${pager}</p>`
    return await reply.type('text/html; charset=utf-8').send(layout(category.name, body))
  })

  app.get('/products/:id', async (request, reply) => {
    const { id } = parse(idParam, request.params)
    const product = await requireProduct(ports, id)
    await countView(ports, id)
    return await reply.type('text/html; charset=utf-8').send(renderProductPage(product))
  })
}
