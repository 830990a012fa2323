import { OutgrowError, type Ports, type Session } from '../../src/index.js'
import { loadProducts, requireProduct } from './catalog-data.js'

/** The cart lives in the session as one field per product (`cart:<id>` → qty), updated atomically. */
export const CART_PREFIX = 'cart:'
/** A session field per order whose cart clean-up ran (checkout.ts): a replay must not run it twice. */
export const ORDER_GUARD_PREFIX = 'ordered:'
export const MAX_QTY_PER_ITEM = 100
export const MAX_CART_LINES = 50

export async function cartQuantities (session: Session): Promise<Map<number, number>> {
  return cartLinesOf(await session.getAll())
}

/** The cart's lines among a session's fields (pages read them with the rest of the session). */
/** The ids of the orders whose clean-up guards a session holds. */
export function orderGuardsOf (fields: Record<string, unknown>): number[] {
  const ids: number[] = []
  for (const field of Object.keys(fields)) {
    if (!field.startsWith(ORDER_GUARD_PREFIX)) continue
    const id = Number(field.slice(ORDER_GUARD_PREFIX.length))
    if (Number.isSafeInteger(id)) ids.push(id)
  }
  return ids
}

export function cartLinesOf (fields: Record<string, unknown>): Map<number, number> {
  const lines = new Map<number, number>()
  for (const [field, value] of Object.entries(fields)) {
    if (!field.startsWith(CART_PREFIX)) continue
    const qty = Number(value)
    if (Number.isInteger(qty) && qty > 0) lines.set(Number(field.slice(CART_PREFIX.length)), qty)
  }
  return lines
}

async function checkNewLine (ports: Ports, session: Session, productId: number): Promise<void> {
  await requireProduct(ports, productId)
  const lines = await cartQuantities(session)
  if (!lines.has(productId) && lines.size >= MAX_CART_LINES) {
    throw new OutgrowError('OUTGROW_VALIDATION', `a cart holds at most ${MAX_CART_LINES} different products`, { field: 'productId' })
  }
}

/** Adds `qty` of a product; returns the product's new quantity in the cart. */
export async function addToCart (ports: Ports, session: Session, productId: number, qty: number): Promise<number> {
  await checkNewLine(ports, session, productId)
  const field = CART_PREFIX + String(productId)
  // Atomic increment: two concurrent adds both land. Over the limit, the add is undone.
  const total = await session.increment(field, qty)
  if (total > MAX_QTY_PER_ITEM) {
    await session.increment(field, -qty)
    throw new OutgrowError('OUTGROW_VALIDATION', `at most ${MAX_QTY_PER_ITEM} of one product per cart`, { field: 'qty' })
  }
  return total
}

/** Sets a product's quantity (the cart page's "update"); 0 removes it. The last writer wins, as the person meant. */
export async function setCartQuantity (ports: Ports, session: Session, productId: number, qty: number): Promise<void> {
  if (qty === 0) {
    await session.delete(CART_PREFIX + String(productId))
    return
  }
  await checkNewLine(ports, session, productId)
  await session.set(CART_PREFIX + String(productId), qty)
}

export interface CartLine { productId: number, name: string, priceCents: number, qty: number, lineCents: number }
export interface CartView { items: CartLine[], totalCents: number }

/** The cart with each product's current name and price, in product-id order. */
export async function cartView (ports: Ports, session: Session): Promise<CartView> {
  const lines = [...(await cartQuantities(session))]
  const products = await loadProducts(ports, lines.map(([productId]) => productId))
  const items: CartLine[] = []
  let totalCents = 0
  for (const [i, [productId, qty]] of lines.entries()) {
    const product = products[i]
    if (product === undefined) continue
    totalCents += product.priceCents * qty
    items.push({ productId, name: product.name, priceCents: product.priceCents, qty, lineCents: product.priceCents * qty })
  }
  items.sort((a, b) => a.productId - b.productId)
  return { items, totalCents }
}
