import { hostname, networkInterfaces } from 'node:os'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { bearerTokenMatches, isLoopbackHost } from '../config/admin-token.js'
import { OutgrowError, type ErrorCode } from '../errors/index.js'

/** The cookie a browser holds the control token in once it opened `/dashboard?token=…`. */
export const TOKEN_COOKIE = 'outgrow_control'

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/** `name=value` pairs of a Cookie header. */
export function parseCookies (header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>()
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=')
    if (eq <= 0) continue
    try {
      cookies.set(part.slice(0, eq).trim(), decodeURIComponent(part.slice(eq + 1).trim()))
    } catch {}
  }
  return cookies
}

/** The host names the API answers to: loopback names, the address it binds, and this machine's when it binds every interface. */
export function ownHostNames (bindHost: string): Set<string> {
  const names = new Set<string>([bindHost.toLowerCase()])
  if (bindHost === '0.0.0.0' || bindHost === '::' || bindHost === '[::]') {
    names.add(hostname().toLowerCase())
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) names.add(a.address.toLowerCase())
  }
  return names
}

/** The host name of a Host header (`[::1]:8080` → `::1`), undefined when it cannot be parsed. */
export function hostNameOf (host: string | undefined): string | undefined {
  if (host === undefined || host === '') return undefined
  try {
    const name = new URL(`http://${host}`).hostname.toLowerCase()
    return name.startsWith('[') ? name.slice(1, -1) : name
  } catch {
    return undefined
  }
}

/** Whether a Host header names this API (DNS rebinding: a foreign name resolving to us is refused). */
export function hostAllowed (host: string | undefined, own: ReadonlySet<string>): boolean {
  const name = hostNameOf(host)
  if (name === undefined) return false
  return isLoopbackHost(name) || name.endsWith('.localhost') || own.has(name)
}

/** Whether a browser's Origin header is the API's own origin, the one named by Host. */
export function originMatchesHost (origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined || host === undefined || origin === 'null') return false
  try {
    const url = new URL(origin)
    return url.protocol === 'http:' && url.host === new URL(`http://${host}`).host
  } catch {
    return false
  }
}

const UNAUTHENTICATED_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Outgrow dashboard: sign in</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40em;margin:4em auto;padding:0 1em}code{background:#eee;padding:.1em .3em}</style></head>
<body><h1>The dashboard needs the stack's token</h1>
<p>Open the dashboard URL that <code>outgrow up</code> printed (it carries the token once; the browser keeps it in a cookie), or run <code>outgrow dashboard</code> in the stack's directory to print it again.</p>
</body></html>
`

function refuse (reply: FastifyReply, code: ErrorCode, message: string): FastifyReply {
  const err = new OutgrowError(code, message)
  return reply.code(err.status).header('cache-control', 'no-store').send(err.toJSON())
}

/**
 * Who may use the control API: a request whose Host names the API itself or loopback, with the
 * token as a bearer header (the CLI) or as the dashboard's cookie (a browser). A cookie alone
 * changes nothing unless the request comes from the API's own origin; `/dashboard?token=…` trades
 * the token in the URL for the cookie and redirects, so the token leaves the address bar and history.
 */
export function installControlAuth (app: FastifyInstance, options: { token: string, bindHost: string }): void {
  const own = ownHostNames(options.bindHost)
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const host = request.headers.host
    if (!hostAllowed(host, own)) return refuse(reply, 'OUTGROW_HOST_REFUSED', `Host ${host ?? '(none)'} is neither this control API's address nor a loopback name`)
    const path = request.url.split('?')[0]
    const query = request.query as { token?: unknown } | undefined
    if (path === '/dashboard' && request.method === 'GET' && typeof query?.token === 'string') {
      if (!bearerTokenMatches(query.token, options.token)) return await reply.code(401).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(UNAUTHENTICATED_PAGE)
      return await reply
        .header('set-cookie', `${TOKEN_COOKIE}=${encodeURIComponent(options.token)}; Path=/; HttpOnly; SameSite=Strict`)
        .header('cache-control', 'no-store').header('referrer-policy', 'no-referrer')
        .redirect('/dashboard', 303)
    }
    if (bearerTokenMatches(request.headers.authorization, options.token)) return
    const cookie = parseCookies(request.headers.cookie).get(TOKEN_COOKIE)
    if (cookie !== undefined && bearerTokenMatches(cookie, options.token)) {
      if (SAFE_METHODS.has(request.method) || originMatchesHost(request.headers.origin, host)) return
      return refuse(reply, 'OUTGROW_ORIGIN_REFUSED', `a change made with the dashboard's cookie must come from ${host ?? 'this API'}'s own page (Origin ${request.headers.origin ?? 'missing'})`)
    }
    if (path === '/dashboard' && request.method === 'GET') return await reply.code(401).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(UNAUTHENTICATED_PAGE)
    return refuse(reply, 'OUTGROW_UNAUTHENTICATED', 'the control token (control.token in the data dir) is required')
  })
}
