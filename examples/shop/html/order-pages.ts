import type { OrderItem } from '../order-reads.js'
import { escapeHtml, price, statusLabel } from './escape.js'

export interface OrderSummary { readonly id: number, readonly totalCents: number, readonly status: string, readonly createdAt: Date | string }
export interface OrderDetail extends OrderSummary { readonly items: readonly OrderItem[], readonly receipt: string | null }

const placedAt = (createdAt: Date | string): string => new Date(createdAt).toISOString().replace('T', ' ').slice(0, 16) + ' UTC'

export function renderOrdersBody (orders: readonly OrderSummary[]): string {
  if (orders.length === 0) return '<h1>Your orders</h1><p>No orders yet. <a href="/">Browse the products</a>.</p>'
  const rows = orders.map((o) => `<tr><td><a href="/orders/${o.id}">Order #${o.id}</a></td><td>${placedAt(o.createdAt)}</td><td>${price(o.totalCents)}</td><td>${escapeHtml(statusLabel(o.status))}</td></tr>`)
  return `<h1>Your orders</h1><table><thead><tr><th>Order</th><th>Placed</th><th>Total</th><th>Status</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
}

/**
 * One order. While its receipt is being made, the order-status script listens to the buyer's
 * event stream and turns the status to "confirmed" when the receipt is ready; without
 * JavaScript, the refresh link does.
 */
export function renderOrderBody (order: OrderDetail): string {
  const ready = order.receipt !== null
  const rows = order.items.map((i) => `<tr><td><a href="/products/${i.productId}">${escapeHtml(i.name)}</a></td><td>${i.qty}</td><td>${price(i.priceCents * i.qty)}</td></tr>`).join('')
  return `<h1>Order #${order.id}</h1>
<p role="status" data-order-id="${order.id}">Status: <strong id="order-status">${escapeHtml(statusLabel(order.status))}</strong></p>
<p>Placed ${placedAt(order.createdAt)}</p>
<table><thead><tr><th>Product</th><th>Quantity</th><th>Subtotal</th></tr></thead><tbody>${rows}</tbody></table>
<p>Total: <strong>${price(order.totalCents)}</strong></p>
<h2>Receipt</h2>
<p id="receipt-pending"${ready ? ' hidden' : ''}>The receipt is being prepared; this page updates by itself (<a href="/orders/${order.id}">refresh</a>).</p>
<pre id="receipt"${ready ? '' : ' hidden'}>${escapeHtml(order.receipt ?? '')}</pre>
<p><a href="/orders">All your orders</a></p>`
}
