import type { EventEnvelope, JsonValue, Ports, ServiceSubscription } from '../../src/index.js'
import { LISTS_TAG, productKey } from './catalog-data.js'

/** The shop's domain events (docs/events.md). */
export const ORDER_PLACED = 'order.placed'
export const PRODUCT_CHANGED = 'product.changed'

export interface ProductChanged {
  productId: number
  priceCents: number
  stock: number
  position: string
  /** The writer stored the product's new value in the cache (versioned write-through): keep it. */
  writtenThrough?: boolean
}

/**
 * product.changed → the product's page entry (unless its writer wrote it through) and every
 * product list leave the cache, and their
 * next loads read at or after the change. Idempotent by nature (an invalidation twice is one), so
 * it needs no idempotent-consumer helper.
 */
export const cacheInvalidation: ServiceSubscription = {
  topic: PRODUCT_CHANGED,
  concurrency: 4,
  async handler (event: EventEnvelope<JsonValue>, ports: Ports): Promise<void> {
    const change = event.data as unknown as ProductChanged
    // A product written through is already right in the cache: deleting it would only cost a miss.
    const keys = change.writtenThrough === true ? [] : [productKey(change.productId)]
    await ports.cache.invalidate({ keys, tags: [LISTS_TAG], after: change.position })
  },
}
