import type { Session } from '../../src/index.js'

/** The cart lives in the session as one field per product (`cart:<id>` → qty), updated atomically. */
export const CART_PREFIX = 'cart:'
export const MAX_QTY_PER_ITEM = 100
export const MAX_CART_LINES = 50

export async function cartQuantities (session: Session): Promise<Map<number, number>> {
  const all = await session.getAll()
  const lines = new Map<number, number>()
  for (const [field, value] of Object.entries(all)) {
    if (!field.startsWith(CART_PREFIX)) continue
    const qty = Number(value)
    if (Number.isInteger(qty) && qty > 0) lines.set(Number(field.slice(CART_PREFIX.length)), qty)
  }
  return lines
}
