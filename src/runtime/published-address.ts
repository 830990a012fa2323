import type { AddressInfo } from 'node:net'

/** Binding to these accepts connections on every interface; nobody can connect *to* them. */
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]'])

/** Where an instance listens (the socket's own address) and where others should reach it. */
export interface ListeningAddress {
  /** URL of the bound socket, e.g. http://0.0.0.0:43121 — the real port even when 0 was asked for. */
  readonly address: string
  readonly port: number
  /** URL on the published host, for registries and supervisors. */
  readonly url: string
}

export function httpUrl (host: string, port: number): string {
  const bracketed = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
  return `http://${bracketed}:${port}`
}

/** The configured publish host, else the bind host, with a wildcard bind published as loopback. */
export function publishHostFor (bindHost: string, publishHost?: string): string {
  if (publishHost !== undefined) return publishHost
  return WILDCARD_HOSTS.has(bindHost) ? '127.0.0.1' : bindHost
}

export function listeningAddress (bound: AddressInfo, bindHost: string, publishHost?: string): ListeningAddress {
  return {
    address: httpUrl(bound.address, bound.port),
    port: bound.port,
    url: httpUrl(publishHostFor(bindHost, publishHost), bound.port),
  }
}
