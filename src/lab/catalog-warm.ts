import { Pool } from 'undici'

/**
 * Warms a fresh stack's cache the way a shop that has been running is warm: the product pages that
 * take most of the views are requested once, most popular first, before anything is measured.
 *
 * Why: product pages are cached for an hour and the mix picks products by Zipf(1.0) popularity
 * over thousands of them, so a fresh stack's hit ratio climbs for the whole length of a capacity
 * search. Each step would then be measured against a different cache — warmer the more requests
 * came before it — and a run's capacity would depend on the path its search took. A miss also costs
 * the app more than no cache at all (a cache round trip, the database read and the cache write), so
 * a cold cache makes a level with a cache look worse than the level without one.
 */

export interface CatalogWarmOptions {
  readonly url: string
  /** Products in the catalog; product ids 1..n, id 1 the most popular (as the mix draws them). */
  readonly products: number
  /** Share of product views the warmed products take (0..1): the most popular are warmed until it is reached. */
  readonly share: number
  /** Zipf exponent of the mix's product popularity. */
  readonly exponent?: number
  /** Requests in flight at once: enough to keep a small server busy, not to queue on it. */
  readonly connections?: number
  readonly timeoutMs?: number
}

export interface CatalogWarmResult {
  readonly products: number
  readonly seconds: number
  /** Requests that did not get a 2xx or 404 (a level that cannot answer them is measured as it is). */
  readonly failures: number
}

/** The smallest k such that products 1..k take at least `share` of Zipf(exponent) views over n products. */
export function productsCovering (products: number, share: number, exponent = 1.0): number {
  if (!Number.isInteger(products) || products < 1) throw new RangeError('products must be a positive integer')
  if (!(share >= 0 && share <= 1)) throw new RangeError('share must be between 0 and 1')
  if (share === 0) return 0
  let total = 0
  for (let k = 1; k <= products; k++) total += 1 / k ** exponent
  let sum = 0
  for (let k = 1; k <= products; k++) {
    sum += 1 / k ** exponent
    // A hair under the share so rounding in the sum never asks for one product more than needed.
    if (sum / total >= share - 1e-12) return k
  }
  return products
}

/** Requests product pages 1..k (k from `share`), a few at a time; resolves when every one was answered. */
export async function warmCatalog (options: CatalogWarmOptions): Promise<CatalogWarmResult> {
  const count = productsCovering(options.products, options.share, options.exponent)
  const startedAt = Date.now()
  if (count === 0) return { products: 0, seconds: 0, failures: 0 }
  const connections = options.connections ?? 4
  const pool = new Pool(options.url, { connections, keepAliveTimeout: 30_000 })
  let next = 1
  let failures = 0
  const worker = async (): Promise<void> => {
    while (next <= count) {
      const id = next++
      try {
        const response = await pool.request({ method: 'GET', path: `/api/products/${id}`, headersTimeout: options.timeoutMs ?? 10_000, bodyTimeout: options.timeoutMs ?? 10_000 })
        await response.body.dump()
        if (response.statusCode >= 300 && response.statusCode !== 404) failures++
      } catch {
        failures++
      }
    }
  }
  try {
    await Promise.all(Array.from({ length: Math.min(connections, count) }, worker))
  } finally {
    await pool.close()
  }
  return { products: count, seconds: Math.round((Date.now() - startedAt) / 100) / 10, failures }
}
