import type { CartView } from '../cart.js'
import { MAX_QTY_PER_ITEM } from '../cart.js'
import { escapeHtml, price } from './escape.js'

export interface CartPageState {
  readonly signedIn: boolean
  /** A fresh key per rendering: a double submit of this form makes one order. */
  readonly checkoutKey: string
  readonly error?: string
}

export function renderCartBody (cart: CartView, state: CartPageState): string {
  const alert = state.error === undefined ? '' : `<p role="alert">${escapeHtml(state.error)}</p>`
  if (cart.items.length === 0) return `<h1>Your cart</h1>${alert}<p>Your cart is empty. <a href="/">Browse the products</a>.</p>`
  const rows = cart.items.map((item) => {
    const name = escapeHtml(item.name)
    return `<tr><td><a href="/products/${item.productId}">${name}</a></td><td>${price(item.priceCents)}</td>
<td><form method="post" action="/cart/items/${item.productId}"><input type="number" name="qty" value="${item.qty}" min="0" max="${MAX_QTY_PER_ITEM}" aria-label="Quantity of ${name}" required> <button type="submit" aria-label="Update ${name}">Update</button></form></td>
<td>${price(item.lineCents)}</td>
<td><form method="post" action="/cart/items/${item.productId}/remove"><button type="submit" aria-label="Remove ${name}">Remove</button></form></td></tr>`
  }).join('\n')
  const checkout = state.signedIn
    ? `<form method="post" action="/checkout"><input type="hidden" name="idempotencyKey" value="${escapeHtml(state.checkoutKey)}"><button type="submit">Place order</button></form>`
    : '<p><a href="/login?next=%2Fcart">Log in</a> or <a href="/register?next=%2Fcart">register</a> to check out.</p>'
  return `<h1>Your cart</h1>${alert}
<table><thead><tr><th>Product</th><th>Price</th><th>Quantity</th><th>Subtotal</th><th></th></tr></thead>
<tbody>${rows}</tbody></table>
<p>Total: <strong>${price(cart.totalCents)}</strong></p>
${checkout}`
}
