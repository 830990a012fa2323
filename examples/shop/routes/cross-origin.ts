/**
 * Cross-site request forgery protection for the HTML forms, which post with the session cookie.
 * Two layers: the cookie is SameSite=Lax (a cross-site POST carries no session), and each
 * state-changing request must come from this site — as Go's net/http CrossOriginProtection
 * decides it: Fetch Metadata (`Sec-Fetch-Site`) where the browser sends it, else the `Origin`
 * header against `Host`; a request with neither is no browser's cross-site form (browsers have
 * sent Origin on every POST for years), so it passes. No per-session token: the product page
 * must be the same for everyone (it is pre-rendered), and so must its add-to-cart form.
 *
 * Returns why the request is refused, or undefined when it may proceed.
 */
export function crossOriginRefusal (method: string, headers: { readonly secFetchSite?: string | undefined, readonly origin?: string | undefined, readonly host?: string | undefined }): string | undefined {
  if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return undefined
  const site = headers.secFetchSite
  if (site !== undefined && site !== '') {
    // 'none': the person started it (typed the address, a bookmark); never a page of another site.
    return site === 'same-origin' || site === 'none' ? undefined : `a form from another site (Sec-Fetch-Site: ${site}) was refused`
  }
  const origin = headers.origin
  if (origin === undefined || origin === '') return undefined
  let host: string
  try {
    host = new URL(origin).host
  } catch {
    return 'a form from an unknown origin was refused'
  }
  return host !== '' && host === headers.host ? undefined : 'a form from another site was refused'
}
