import type { Product } from '../catalog-data.js'
import { MAX_QTY_PER_ITEM } from '../cart.js'
import { escapeHtml, price } from './escape.js'
import { ANONYMOUS_LINKS, renderPage } from './layout.js'

/**
 * A product's page, the same for every visitor, so it can be pre-rendered and served from the
 * static store: nothing in it depends on who asks. The header's login state and cart count are
 * filled in by the account script (its links to log in and to the cart are the fallback), and
 * the add-to-cart form carries no per-session token (forms are guarded by their origin, see
 * routes/cross-origin.ts).
 */
export function renderProductPage (product: Product): string {
  const stock = product.stock > 0 ? `${product.stock} in stock` : 'Out of stock'
  const body = `<h1>${escapeHtml(product.name)}</h1>
<p>${escapeHtml(product.description)}</p>
<p><strong>${price(product.priceCents)}</strong> · ${stock} · ${escapeHtml(product.category)}</p>
<form method="post" action="/cart/items">
<input type="hidden" name="productId" value="${product.id}">
<label>Quantity <input type="number" name="qty" value="1" min="1" max="${MAX_QTY_PER_ITEM}" required></label>
<button type="submit"${product.stock > 0 ? '' : ' disabled'}>Add to cart</button>
</form>`
  return renderPage({ title: product.name, body, account: ANONYMOUS_LINKS, scripts: ['account.js'] })
}
