import type { Product } from '../catalog-data.js'

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
const price = (cents: number): string => `$${(cents / 100).toFixed(2)}`

/** The product page, a pure function of the product: served by the app and pre-rendered alike. */
export function renderProductPage (product: Product): string {
  const body = `<h1>${escapeHtml(product.name)}</h1><p>${escapeHtml(product.description)}</p>
<p><strong>${price(product.priceCents)}</strong> · ${product.stock} in stock · ${escapeHtml(product.category)}</p>`
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(product.name)} · Outgrow Shop</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}a{color:#0b57d0}li{margin:.2rem 0}</style>
</head><body><header><a href="/">Outgrow Shop</a></header><main>${body}</main></body></html>`
}
