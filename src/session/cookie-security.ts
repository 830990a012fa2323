import { isLoopbackHost } from '../config/admin-token.js'

/**
 * Whether the session cookie carries `Secure` (browsers then send it over HTTPS only): always,
 * never, or `auto` — on unless the app listens on loopback and the request did not arrive over TLS.
 */
export type SecureCookieSetting = boolean | 'auto'

/**
 * `protocol` is Fastify's request.protocol: "https" when the socket is TLS, or when a peer listed
 * in the app's trustProxy (the gateway) says so in X-Forwarded-Proto; anyone else's header is ignored.
 */
export function wantsSecureCookie (setting: SecureCookieSetting, listenHost: string, protocol: string | undefined): boolean {
  if (setting !== 'auto') return setting
  // Reachable from other machines: assume a real deployment, which must run behind TLS.
  if (!isLoopbackHost(listenHost)) return true
  return protocol === 'https'
}
