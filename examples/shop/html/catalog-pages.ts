import type { ProductPage } from '../catalog-data.js'
import { escapeHtml, price } from './escape.js'

export interface Category { readonly slug: string, readonly name: string }

export const categoryLinks = (categories: readonly Category[]): string =>
  `<nav aria-label="Categories"><p>${categories.map((c) => `<a href="/categories/${escapeHtml(c.slug)}">${escapeHtml(c.name)}</a>`).join(' · ')}</p></nav>`

export const productList = (items: ProductPage['items']): string =>
  `<ul>${items.map((p) => `<li><a href="/products/${p.id}">${escapeHtml(p.name)}</a> — ${price(p.priceCents)}</li>`).join('')}</ul>`

/** Previous/next links; `base` is the page's path with its query so far (`?` or `&` is added). */
export function pager (base: string, list: ProductPage): string {
  const join = base.includes('?') ? '&' : '?'
  const links = [
    list.page > 1 ? `<a href="${escapeHtml(`${base}${join}page=${list.page - 1}`)}">← Previous</a>` : '',
    list.hasMore ? `<a href="${escapeHtml(`${base}${join}page=${list.page + 1}`)}">Next →</a>` : '',
  ].filter((link) => link !== '')
  return links.length === 0 ? '' : `<p>${links.join(' · ')}</p>`
}

export function renderHomeBody (categories: readonly Category[], list: ProductPage): string {
  return `<h1>Products</h1>\n${categoryLinks(categories)}\n${productList(list.items)}\n${pager('/', list)}`
}

export function renderCategoryBody (category: Category, categories: readonly Category[], list: ProductPage): string {
  return `<h1>${escapeHtml(category.name)}</h1>\n${categoryLinks(categories)}\n${productList(list.items)}\n${pager(`/categories/${category.slug}`, list)}`
}

export function renderSearchBody (query: string | undefined, list: ProductPage | undefined): string {
  if (query === undefined || list === undefined) return '<h1>Search</h1><p>Type a word from a product’s name or description into the search box.</p>'
  const found = list.items.length === 0 ? `<p>No products match “${escapeHtml(query)}”.</p>` : productList(list.items)
  return `<h1>Results for “${escapeHtml(query)}”</h1>\n${found}\n${pager(`/search?q=${encodeURIComponent(query)}`, list)}`
}
