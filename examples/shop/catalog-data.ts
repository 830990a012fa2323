import { OutgrowError, type Ports, type WritePosition } from '../../src/index.js'

export interface Product {
  id: number
  name: string
  description: string
  category: string
  priceCents: number
  stock: number
}

export interface ProductPage {
  items: Array<Omit<Product, 'description'>>
  page: number
  hasMore: boolean
}

export const PAGE_SIZE = 20
/**
 * How long a product's entry lives (the admin's write-through stores it for as long). Long: every
 * change to a product row, by any path, invalidates it through the database's change feed (levels
 * 3 and 4), checkouts and admin writes also do so themselves, so the TTL bounds only memory and a
 * category renamed under it. A short TTL would cap the hit ratio against the catalogue's long tail.
 */
export const PRODUCT_TTL = 3600
const LIST_TTL = 30
/** Every product list carries this tag, so one admin write invalidates them all. */
export const LISTS_TAG = 'product-lists'

export const productKey = (id: number): string => `product:${id}`

type ProductRow = { id: number, name: string, description: string, category: string, price_cents: number, stock: number }

const PRODUCT_COLUMNS = 'p.id, p.name, p.description, c.name AS category, p.price_cents, p.stock'

function productOf (row: ProductRow | undefined): Product | null {
  // null (not undefined) is cached too: a missing product is a cheap miss next time.
  return row === undefined
    ? null
    : { id: row.id, name: row.name, description: row.description, category: row.category, priceCents: row.price_cents, stock: row.stock }
}

/** Reads one product from the database for a cache load. */
type ProductRead = (id: number, after: WritePosition | undefined) => Promise<Product | null>

const readOne = (ports: Ports): ProductRead => async (id, after) => {
  const result = await ports.db.read<ProductRow>(
    `SELECT ${PRODUCT_COLUMNS} FROM products p JOIN categories c ON c.id = p.category_id WHERE p.id = $1`, [id], { after })
  return productOf(result.rows[0])
}

/**
 * Loads that start in the same turn of the event loop, read together: one query for the ids that
 * need the same read position. A cart of 30 products the cache does not hold is one statement,
 * not 30 — on a small server each statement costs the app and the database a round trip's CPU.
 * Each cache load still starts from its own wrap (single flight, invalidation fences, `after`):
 * only the statement is shared.
 */
function batchedReads (ports: Ports): ProductRead {
  let waiting = new Map<string, Array<{ id: number, after: WritePosition | undefined, settle: (p: Promise<Product | null>) => void }>>()
  const flush = (): void => {
    const groups = waiting
    waiting = new Map()
    for (const group of groups.values()) {
      const after = group[0]?.after
      const ids = [...new Set(group.map((g) => g.id))]
      const rows = ports.db.read<ProductRow>(
        `SELECT ${PRODUCT_COLUMNS} FROM products p JOIN categories c ON c.id = p.category_id WHERE p.id = ANY($1::int[])`, [ids], { after })
        .then((result) => new Map(result.rows.map((row) => [row.id, row])))
      for (const g of group) g.settle(rows.then((byId) => productOf(byId.get(g.id))))
    }
  }
  return async (id, after) => await new Promise<Product | null>((resolve, reject) => {
    if (waiting.size === 0) setImmediate(flush)
    const group = after ?? ''
    const list = waiting.get(group) ?? []
    list.push({ id, after, settle: (p) => { p.then(resolve, reject) } })
    waiting.set(group, list)
  })
}

async function loadThrough (ports: Ports, id: number, read: ProductRead): Promise<Product | undefined> {
  // `after`: a load that follows a write reads at or after it, so a lagging replica's old row is never cached.
  const found = await ports.cache.wrap(productKey(id), PRODUCT_TTL, async ({ after }) => await read(id, after))
  return found ?? undefined
}

/** A product through the cache (cache-aside); undefined when it does not exist. */
export async function loadProduct (ports: Ports, id: number): Promise<Product | undefined> {
  return await loadThrough(ports, id, readOne(ports))
}

/**
 * Several products: one cache round trip for all of them (getMany), and cache-aside loads for the
 * misses only, whose database reads go out as one statement. In `ids`' order; undefined for a
 * product that does not exist.
 */
export async function loadProducts (ports: Ports, ids: readonly number[]): Promise<Array<Product | undefined>> {
  const cached = await ports.cache.getMany<Product | null>(ids.map(productKey))
  const misses = cached.filter((hit) => hit === undefined).length
  const read = misses > 1 ? batchedReads(ports) : readOne(ports)
  return await Promise.all(ids.map(async (id, i) => {
    const hit = cached[i]
    return hit === undefined ? await loadThrough(ports, id, read) : hit ?? undefined
  }))
}

export async function requireProduct (ports: Ports, id: number): Promise<Product> {
  const product = await loadProduct(ports, id)
  if (product === undefined) throw new OutgrowError('OUTGROW_NOT_FOUND', `product ${id} does not exist`)
  return product
}

/**
 * The filter as its own statement per shape, rather than one catch-all (`$1 IS NULL OR c.slug = $1`):
 * a category is resolved to its id first, so the (category_id, id) index yields its products in id
 * order and a page reads offset + limit rows of it. Behind the catch-all's join the planner did not
 * know the category and picked by the statistics of the moment: every product of the category
 * fetched and sorted, or every product walked by id and the others dropped.
 */
function listStatement (filter: { category?: string | undefined, q?: string | undefined }): { shape: string, where: string, params: unknown[] } {
  const names: string[] = []
  const conditions: string[] = []
  const params: unknown[] = []
  if (filter.category !== undefined) {
    params.push(filter.category)
    names.push('category')
    conditions.push(`p.category_id = (SELECT id FROM categories WHERE slug = $${params.length})`)
  }
  if (filter.q !== undefined) {
    params.push(filter.q)
    names.push('text')
    conditions.push(`p.search @@ plainto_tsquery('simple', $${params.length})`)
  }
  return { shape: names.join(' and ') || 'all', where: conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`, params }
}

export async function listProducts (ports: Ports, filter: { category?: string | undefined, q?: string | undefined, page: number }): Promise<ProductPage> {
  const key = `products:${filter.category ?? ''}:${filter.q ?? ''}:${filter.page}`
  return await ports.cache.wrap(key, LIST_TTL, async ({ after }) => {
    const { shape, where, params } = listStatement(filter)
    // The comment names the shape where statements are listed by their first words (pg_stat_statements, the lab's knee report).
    const result = await ports.db.read<{ id: number, name: string, category: string, price_cents: number, stock: number }>(
      `/* product list: ${shape} */ SELECT p.id, p.name, c.name AS category, p.price_cents, p.stock
         FROM products p JOIN categories c ON c.id = p.category_id
        ${where}
        ORDER BY p.id
        LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
      [...params, PAGE_SIZE + 1, (filter.page - 1) * PAGE_SIZE], { after })
    const rows = result.rows.slice(0, PAGE_SIZE)
    return {
      items: rows.map((r) => ({ id: r.id, name: r.name, category: r.category, priceCents: r.price_cents, stock: r.stock })),
      page: filter.page,
      hasMore: result.rows.length > PAGE_SIZE,
    }
  }, { tags: [LISTS_TAG] })
}

export async function listCategories (ports: Ports): Promise<Array<{ slug: string, name: string }>> {
  return await ports.cache.wrap('categories', 300, async () => {
    const result = await ports.db.read<{ slug: string, name: string }>('SELECT slug, name FROM categories ORDER BY name')
    return result.rows
  })
}
