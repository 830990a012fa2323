import { defineService } from '../../src/index.js'
import { LISTS_TAG, productKey } from './catalog-data.js'
import { pruneExpiredKeys } from './idempotency.js'
import { dummyHash } from './credentials.js'
import { cacheInvalidation } from './events.js'
import { renderReceipt } from './jobs.js'
import { accountRoutes } from './routes/account.js'
import { adminRoutes } from './routes/admin.js'
import { cartRoutes } from './routes/cart.js'
import { catalogRoutes } from './routes/catalog.js'
import { orderRoutes } from './routes/orders.js'
import { pageRoutes } from './routes/pages.js'
import { prerenderRoutes } from './routes/prerender.js'
import { RENDER_ALL_JOB, RENDER_PRODUCT_JOB, enqueueFullRender, prerender, renderAllJob, renderProductJob } from './prerender.js'
import { migrate } from './schema.js'
import { seed } from './seed.js'
import { VIEWS_STREAM, applyViews } from './views.js'

/** The reference shop: written once against the ports, it runs unchanged at every level. */
export default defineService({
  name: 'shop',
  migrate,
  seed,
  jobs: { 'order.receipt': renderReceipt, [RENDER_PRODUCT_JOB]: renderProductJob, [RENDER_ALL_JOB]: renderAllJob },
  // Invalidation from the database's change stream (docs/cache.md): a product or category changed
  // by any path — psql, another service — leaves the cache as the admin route's write does.
  invalidateOn: {
    // A new or removed product changes the lists; a price or stock change reaches them within
    // their TTL (30 s), as after a checkout — tagging every update would empty them on each order.
    products: ({ op, row, old }) => ({
      keys: [row, old].flatMap((r) => r === undefined ? [] : [productKey(Number(r.id))]),
      tags: op === 'update' ? [] : [LISTS_TAG],
    }),
    // Product pages show the category's name too: a rename reaches them within their TTL (PRODUCT_TTL).
    categories: () => ({ keys: ['categories'], tags: [LISTS_TAG] }),
  },
  // Page views are counted behind the request (views.ts): readers of the count tolerate lag.
  writeBehind: { [VIEWS_STREAM]: applyViews },
  // Domain events consumed by this service (events.ts).
  subscriptions: { 'cache-invalidation': cacheInvalidation, prerender },
  routes (app, ports) {
    catalogRoutes(app, ports)
    accountRoutes(app, ports)
    cartRoutes(app, ports)
    orderRoutes(app, ports)
    adminRoutes(app, ports)
    pageRoutes(app, ports)
    prerenderRoutes(app, ports)
  },
  // No receipt recovery here: checkout writes the receipt job to the outbox in the order's
  // transaction, and the relay hands it on whatever dies when (docs/outbox.md).
  async onStart (ports) {
    // Made now, in the background, so the first login for an unknown e-mail does not pay for it.
    dummyHash().catch((err: unknown) => { ports.log.warn({ err }, 'dummy password hash not made; the first unknown-email login makes it') })
    // Every product page into the static store, once: instances starting together (and restarts
    // within the queue's retention) enqueue the same job id; a full render on demand is an admin call.
    if (ports.staticStore !== undefined) await enqueueFullRender(ports, 'start').catch((err: unknown) => { ports.log.warn({ err }, 'pages not pre-rendered at start: the dynamic pages serve meanwhile') })
    // Expired idempotency keys are harmless (a claim takes them over) but take space.
    await pruneExpiredKeys(ports.db).catch((err: unknown) => { ports.log.warn({ err }, 'expired idempotency keys not pruned') })
  },
})
