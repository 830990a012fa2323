import { randomUUID } from 'node:crypto'
import { Zipf } from './zipf.js'

export type ActionName = 'browse' | 'product' | 'search' | 'add_to_cart' | 'view_cart' | 'checkout' | 'history' | 'clear_cart'

/** Share of each action in the shop's traffic (percent). */
export const DEFAULT_MIX: Readonly<Record<ActionName, number>> = {
  browse: 25, product: 35, search: 10, add_to_cart: 15, view_cart: 5, checkout: 5, history: 5, clear_cart: 0,
}

export interface VirtualUser {
  readonly email: string
  cookie: string
  /** Items this user added and has not checked out yet, as far as the generator knows. */
  cartItems: number
  /** Set when a checkout or add was refused: like a person, the user empties the cart next. */
  clearCart?: boolean
}

export interface PlannedRequest {
  readonly action: ActionName
  readonly method: 'GET' | 'POST' | 'DELETE'
  readonly path: string
  readonly user: VirtualUser
  readonly body?: string
  readonly idempotencyKey?: string
}

const SEARCH_TERMS = ['lamp', 'kettle', 'novel', 'headphones', 'backpack', 'chair', 'puzzle', 'jacket', 'smart', 'eco', 'deluxe', 'wireless', 'red', 'blue']
const CATEGORY_SLUGS = ['books', 'electronics', 'kitchen', 'garden', 'toys', 'sports', 'music', 'movies', 'clothing', 'shoes', 'beauty', 'health', 'automotive', 'tools', 'office', 'pets', 'baby', 'grocery', 'outdoors', 'games']

/** Turns the mix into concrete requests: Zipf product popularity, logged-in users with carts. */
export class UserMix {
  readonly #users: readonly VirtualUser[]
  readonly #products: Zipf
  readonly #categories: Zipf
  readonly #random: () => number
  readonly #table: Array<[ActionName, number]>

  constructor (users: readonly VirtualUser[], productCount: number, random: () => number, mix: Readonly<Record<ActionName, number>> = DEFAULT_MIX) {
    if (users.length === 0) throw new RangeError('the mix needs at least one user')
    this.#users = users
    this.#random = random
    this.#products = new Zipf(productCount, 1.0, random)
    this.#categories = new Zipf(CATEGORY_SLUGS.length, 0.8, random)
    const total = Object.values(mix).reduce((a, b) => a + b, 0)
    let cumulative = 0
    this.#table = (Object.entries(mix) as Array<[ActionName, number]>).map(([name, weight]) => {
      cumulative += weight / total
      return [name, cumulative]
    })
  }

  #pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.#random() * items.length)] as T
  }

  #action (): ActionName {
    const u = this.#random()
    for (const [name, cumulative] of this.#table) if (u < cumulative) return name
    return 'product'
  }

  next (): PlannedRequest {
    const user = this.#pick(this.#users)
    let action = this.#action()
    if (user.clearCart === true) {
      user.clearCart = false
      user.cartItems = 0
      return { action: 'clear_cart', method: 'DELETE', path: '/api/cart', user }
    }
    if (action === 'checkout' && user.cartItems === 0) action = 'add_to_cart'
    switch (action) {
      case 'browse': {
        const page = this.#random() < 0.8 ? 1 : 2 + Math.floor(this.#random() * 3)
        return { action, method: 'GET', path: `/api/products?category=${CATEGORY_SLUGS[this.#categories.next() - 1] ?? 'books'}&page=${page}`, user }
      }
      case 'product': return { action, method: 'GET', path: `/api/products/${this.#products.next()}`, user }
      case 'search': return { action, method: 'GET', path: `/api/products?q=${this.#pick(SEARCH_TERMS)}`, user }
      case 'add_to_cart': return { action, method: 'POST', path: '/api/cart/items', user, body: JSON.stringify({ productId: this.#products.next(), qty: 1 }) }
      case 'view_cart': return { action, method: 'GET', path: '/api/cart', user }
      case 'checkout': return { action, method: 'POST', path: '/api/orders', user, idempotencyKey: randomUUID() }
      case 'history': return { action, method: 'GET', path: '/api/orders', user }
      case 'clear_cart': return { action, method: 'DELETE', path: '/api/cart', user }
    }
  }
}
