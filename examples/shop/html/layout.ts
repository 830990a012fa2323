import { escapeHtml } from './escape.js'

/** Who looks at a dynamic page: the header says it (the product page's header is filled by a script instead). */
export interface Viewer {
  readonly signedIn: boolean
  readonly name: string | undefined
  /** Items in the cart, quantities added up. */
  readonly cartCount: number
}

export interface PageParts {
  readonly title: string
  readonly body: string
  /** The header's account links: `viewerLinks(viewer)`, or `ANONYMOUS_LINKS` filled in by the account script. */
  readonly account: string
  /** The search box's current text. */
  readonly query?: string
  /** Scripts under /assets/ (each small; the page works without them). */
  readonly scripts?: readonly string[]
}

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:0 1rem 2rem;color:#1f1f1f}
a{color:#0b57d0}li{margin:.2rem 0}header{display:flex;flex-wrap:wrap;gap:.5rem 1.5rem;align-items:center;padding:.8rem 0;border-bottom:1px solid #ddd}
header label{display:inline;margin:0}header .brand{font-weight:700;font-size:1.2rem;text-decoration:none}header form{display:inline;margin:0}
.account{margin-left:auto}table{border-collapse:collapse}td,th{padding:.3rem .8rem;text-align:left;border-bottom:1px solid #eee}
[role=alert]{color:#b3261e;font-weight:600}.notice{color:#146c2e}label{display:block;margin:.4rem 0}
pre{background:#f6f6f6;padding:1rem;overflow:auto}button{cursor:pointer}`

/** The header's links for someone not signed in: also what a page that is the same for everyone shows without JavaScript. */
export const ANONYMOUS_LINKS = '<a href="/login">Log in</a> · <a href="/register">Register</a> · <a href="/cart">Cart</a>'

export function viewerLinks (viewer: Viewer): string {
  const cart = `<a href="/cart">Cart (${viewer.cartCount})</a>`
  if (!viewer.signedIn) return `<a href="/login">Log in</a> · <a href="/register">Register</a> · ${cart}`
  return `Signed in as <strong>${escapeHtml(viewer.name ?? 'you')}</strong> · <a href="/orders">Orders</a> · ${cart} · ` +
    '<form method="post" action="/logout"><button type="submit">Log out</button></form>'
}

/** A whole page: header with search and account links, the body, and its scripts. */
export function renderPage (parts: PageParts): string {
  const scripts = (parts.scripts ?? []).map((name) => `<script src="/assets/${escapeHtml(name)}" defer></script>`).join('')
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(parts.title)} · Outgrow Shop</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>${STYLE}</style>${scripts}</head>
<body><header><a class="brand" href="/">Outgrow Shop</a>
<form role="search" method="get" action="/search"><label>Search products <input type="search" name="q" value="${escapeHtml(parts.query ?? '')}" maxlength="100"></label> <button type="submit">Search</button></form>
<nav class="account" aria-label="Account" id="account">${parts.account}</nav></header>
<main>${parts.body}</main></body></html>`
}
