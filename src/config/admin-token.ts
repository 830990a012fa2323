import { createHash, timingSafeEqual } from 'node:crypto'
import { isIP } from 'node:net'

/** The token a stack uses when its config names none: fine on one machine, never on a network. */
export const DEFAULT_ADMIN_TOKEN = 'outgrow-admin-token'

/**
 * Whether an Authorization header carries the token, as `Bearer <token>` (the scheme is optional
 * and case-insensitive). The check for every token-protected API: the two are compared in
 * constant time, as SHA-256 digests so that not even the token's length shows; no header never
 * matches.
 */
export function bearerTokenMatches (authorization: string | undefined, token: string): boolean {
  if (authorization === undefined) return false
  const digest = (text: string): Buffer => createHash('sha256').update(text).digest()
  return timingSafeEqual(digest(authorization.replace(/^Bearer\s+/i, '')), digest(token))
}

/**
 * Whether only this machine can reach an address bound to `host`. A wildcard (0.0.0.0, ::), a
 * routable address or a host name other than localhost may be reachable from elsewhere.
 */
export function isLoopbackHost (host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
  if (bare === 'localhost') return true
  const v4 = bare.toLowerCase().startsWith('::ffff:') ? bare.slice(7) : bare
  if (isIP(v4) === 4) return v4.startsWith('127.')
  // The URL parser writes an IPv6 address in its shortest form (0:0:0:0:0:0:0:1 becomes ::1).
  return isIP(bare) === 6 && new URL(`http://[${bare}]`).hostname === '[::1]'
}

/**
 * Why a token must not be used with these listening hosts, or undefined when it may: the
 * published default would let anyone who reaches the address use the admin API.
 */
export function defaultTokenRefusal (token: string | undefined, hosts: readonly string[]): string | undefined {
  if (token !== DEFAULT_ADMIN_TOKEN) return undefined
  const exposed = hosts.find((h) => !isLoopbackHost(h))
  if (exposed === undefined) return undefined
  return `the default admin token is refused when listening on ${exposed}, beyond loopback: set adminToken to a secret of your own`
}
