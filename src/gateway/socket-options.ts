import { createRequire } from 'node:module'
import type { Socket } from 'node:net'

/** Keep-alive probing and TCP_USER_TIMEOUT for upstream sockets; 0 turns either off. */
export interface TcpOptions {
  readonly keepAliveMs: number
  readonly userTimeoutMs: number
}

interface NetKeepAlive {
  setKeepAliveInterval(socket: Socket, ms: number): boolean
  setKeepAliveProbes(socket: Socket, count: number): boolean
  setUserTimeout(socket: Socket, ms: number): boolean
}

const PROBE_INTERVAL_MS = 1000
const PROBES = 3

let addon: NetKeepAlive | null | undefined

/**
 * Node sets only the keep-alive idle time; the probe interval, the probe count and TCP_USER_TIMEOUT
 * come from `net-keepalive` (socket options through FFI, prebuilt per platform). Where it cannot
 * load, sockets get Node's keep-alive alone and the per-try timeouts still bound every request.
 */
function loadAddon (): NetKeepAlive | null {
  if (addon !== undefined) return addon
  try {
    addon = createRequire(import.meta.url)('net-keepalive') as NetKeepAlive
  } catch {
    addon = null
  }
  return addon
}

/** Whether TCP_USER_TIMEOUT and the probe settings can be applied on this platform. */
export function socketOptionsAvailable (): boolean {
  return loadAddon() !== null
}

/** Applies the options to a connected socket; errors of the addon never fail the connection. */
export function tuneUpstreamSocket (socket: Socket, options: TcpOptions): void {
  if (options.keepAliveMs > 0) socket.setKeepAlive(true, options.keepAliveMs)
  const nk = loadAddon()
  if (nk === null) return
  try {
    if (options.keepAliveMs > 0) {
      nk.setKeepAliveInterval(socket, PROBE_INTERVAL_MS)
      nk.setKeepAliveProbes(socket, PROBES)
    }
    if (options.userTimeoutMs > 0) nk.setUserTimeout(socket, options.userTimeoutMs)
  } catch {
    // A socket closed in the meantime has no descriptor left to set options on.
  }
}
