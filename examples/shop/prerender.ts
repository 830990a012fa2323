import type { EventEnvelope, JobContext, JsonValue, Ports, ServiceSubscription, StaticStore, WritePosition } from '../../src/index.js'
import type { Product } from './catalog-data.js'
import { PRODUCT_CHANGED, type ProductChanged } from './events.js'
import { renderProductPage } from './html/product-page.js'

/**
 * Pre-rendering (docs/prerender.md): product pages rendered into the static store the gateways
 * serve, by jobs, when a product changes; all of them once at start and on demand. Off (nothing
 * enqueued, nothing written) where the stack has no static store.
 */
export const RENDER_PRODUCT_JOB = 'pages.render-product'
export const RENDER_ALL_JOB = 'pages.render-all'
/** Products per full-render job: each job is short and retried alone; the next batch is its own job. */
export const RENDER_BATCH = 200
/** Pages written at once within a batch. */
const WRITES_IN_FLIGHT = 8

export const productPagePath = (id: number): string => `/products/${id}`

interface ProductRow { id: number, name: string, description: string, category: string, price_cents: number, stock: number, version: string }
const PRODUCT_COLUMNS = `SELECT p.id, p.name, p.description, c.name AS category, p.price_cents, p.stock, p.version
  FROM products p JOIN categories c ON c.id = p.category_id`

const toProduct = (r: ProductRow): Product => ({ id: r.id, name: r.name, description: r.description, category: r.category, priceCents: r.price_cents, stock: r.stock })

/**
 * The static copy counts its view with a beacon to the app (POST /api/products/:id/views): the
 * gateway serves it without reaching an instance, where the dynamic page counts itself.
 */
export function withViewBeacon (html: string, productId: number): string {
  const beacon = `<script>navigator.sendBeacon('/api/products/${productId}/views')</script>`
  const at = html.lastIndexOf('</body>')
  return at === -1 ? html + beacon : html.slice(0, at) + beacon + html.slice(at)
}

/** The product's version on the primary, undefined when it no longer exists. */
async function currentVersion (ports: Ports, id: number): Promise<string | undefined> {
  const result = await ports.db.read<{ version: string }>('SELECT version FROM products WHERE id = $1', [id], { primary: true })
  return result.rows[0] === undefined ? undefined : String(result.rows[0].version)
}

/**
 * Renders one product's page, or removes it when the product is gone. The first read is at or
 * after the change's position, so a lagging replica never hands back the old row. Renders of one
 * product can finish out of order (jobs run in parallel); so after writing, the row's version on
 * the primary is compared with the one rendered, and a newer row is rendered again: the last write
 * is never older than the last change.
 */
export async function renderProduct (ports: Ports, store: StaticStore, id: number, after?: WritePosition): Promise<void> {
  for (let attempt = 1; attempt <= 5; attempt++) {
    const options = attempt === 1 ? { after } : { primary: true }
    const row = (await ports.db.read<ProductRow>(`${PRODUCT_COLUMNS} WHERE p.id = $1`, [id], options)).rows[0]
    if (row === undefined) await store.delete(productPagePath(id))
    else await store.put(productPagePath(id), withViewBeacon(renderProductPage(toProduct(row)), id))
    if (await currentVersion(ports, id) === (row === undefined ? undefined : String(row.version))) return
  }
  throw new Error(`product ${id} kept changing while its page was rendered; the job is retried`)
}

/** A job: one product's page (payload `{ productId, position? }`). */
export async function renderProductJob (payload: JsonValue, context: JobContext): Promise<void> {
  const { productId, position } = payload as { productId?: unknown, position?: unknown }
  const id = Number(productId)
  if (!Number.isSafeInteger(id) || id <= 0) throw new Error(`bad product id in job ${context.jobId}`)
  const store = context.staticStore
  if (store === undefined) return
  await renderProduct(context, store, id, typeof position === 'string' ? position : undefined)
}

/**
 * A job: the pages of the products after `afterId`, one batch, then the next batch as a job of its
 * own — bounded work per job, and a full render resumes where it failed.
 */
export async function renderAllJob (payload: JsonValue, context: JobContext): Promise<void> {
  const { afterId, runId } = payload as { afterId?: unknown, runId?: unknown }
  const from = Number(afterId ?? 0)
  if (!Number.isSafeInteger(from) || from < 0 || typeof runId !== 'string') throw new Error(`bad payload in job ${context.jobId}`)
  const store = context.staticStore
  if (store === undefined) return
  const rows = (await context.db.read<ProductRow>(`${PRODUCT_COLUMNS} WHERE p.id > $1 ORDER BY p.id LIMIT $2`, [from, RENDER_BATCH])).rows
  for (let i = 0; i < rows.length; i += WRITES_IN_FLIGHT) {
    await Promise.all(rows.slice(i, i + WRITES_IN_FLIGHT).map(async (r) => { await store.put(productPagePath(r.id), withViewBeacon(renderProductPage(toProduct(r)), r.id)) }))
  }
  // The batch was read from a replica: any product that changed meanwhile is rendered again from the primary.
  const ids = rows.map((r) => r.id)
  const current = await context.db.read<{ id: number, version: string }>('SELECT id, version FROM products WHERE id = ANY($1::int[])', [ids], { primary: true })
  const versions = new Map(current.rows.map((r) => [r.id, String(r.version)]))
  for (const r of rows) if (versions.get(r.id) !== String(r.version)) await renderProduct(context, store, r.id)
  const last = rows.at(-1)
  if (rows.length === RENDER_BATCH && last !== undefined) {
    await context.jobs.enqueue(RENDER_ALL_JOB, { afterId: last.id, runId }, { jobId: `pages-all-${runId}-${last.id}` })
  }
}

/** Starts a full render; `runId` names it (the same id within the queue's retention is one run). */
export async function enqueueFullRender (ports: Ports, runId: string): Promise<void> {
  await ports.jobs.enqueue(RENDER_ALL_JOB, { afterId: 0, runId }, { jobId: `pages-all-${runId}-0` })
}

/** product.changed → a render job for that product's page, reading at or after the change. */
export const prerender: ServiceSubscription = {
  topic: PRODUCT_CHANGED,
  concurrency: 4,
  async handler (event: EventEnvelope<JsonValue>, ports: Ports): Promise<void> {
    if (ports.staticStore === undefined) return
    const change = event.data as unknown as ProductChanged
    // One job per change (a redelivered event is the same job); positions are fixed-width hex with a '/'.
    await ports.jobs.enqueue(RENDER_PRODUCT_JOB, { productId: change.productId, position: change.position },
      { jobId: `page-product-${change.productId}-${change.position.replace('/', '-')}` })
  },
}
