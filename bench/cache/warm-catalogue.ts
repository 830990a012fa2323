/**
 * Requests every product once, a few at a time, before a measurement: a shop that has run for a
 * while has its catalogue in the cache, and a run of a few seconds would otherwise measure the
 * cache filling up (the first request for each of thousands of long-tail products is a miss).
 * At level 2 (no cache) the same pass only costs the database a read per product.
 */
export async function warmCatalogue (url: string, products: number, concurrency = 8): Promise<{ requested: number, failed: number }> {
  let next = 1
  let failed = 0
  const worker = async (): Promise<void> => {
    while (next <= products) {
      const id = next++
      try {
        const response = await fetch(`${url}/api/products/${id}`)
        await response.arrayBuffer()
        if (!response.ok) failed++
      } catch {
        failed++
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return { requested: products, failed }
}
