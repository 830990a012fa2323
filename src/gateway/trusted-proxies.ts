import { BlockList, isIP } from 'node:net'
import { parseAddressRange } from '../config/cidr.js'

/** An IPv4 peer on a dual-stack socket shows up as ::ffff:a.b.c.d; match it as IPv4. */
function plain (address: string): string {
  return address.length > 7 && address.slice(0, 7).toLowerCase() === '::ffff:' && isIP(address.slice(7)) === 4 ? address.slice(7) : address
}

/**
 * The proxies in front of the gateway whose forwarding headers are believed (`trustForwardedFrom`:
 * addresses and CIDR ranges, IPv4 and IPv6), matched with node:net's BlockList.
 */
export class TrustedProxies {
  readonly #list = new BlockList()
  readonly #empty: boolean

  private constructor (entries: readonly string[]) {
    this.#empty = entries.length === 0
    for (const entry of entries) {
      const range = parseAddressRange(entry)
      if (range === undefined) throw new Error(`not an address or CIDR range: ${entry}`)
      this.#list.addSubnet(range.address, range.prefix, range.family)
    }
  }

  static from (entries: readonly string[]): TrustedProxies {
    return new TrustedProxies(entries)
  }

  has (address: string): boolean {
    if (this.#empty) return false
    const bare = plain(address)
    const version = isIP(bare)
    return version !== 0 && this.#list.check(bare, version === 4 ? 'ipv4' : 'ipv6')
  }

  /**
   * The client's address: walking X-Forwarded-For from the right (each entry was appended by the
   * hop after it), trusted proxies are skipped and the first untrusted address is the client.
   * Entries further left were written by the client itself and are never believed. A malformed
   * entry ends the walk at the last good one.
   */
  clientAddress (peer: string, forwardedFor: string | undefined): string {
    if (!this.has(peer) || forwardedFor === undefined || forwardedFor === '') return peer
    let client = peer
    const entries = forwardedFor.split(',')
    for (let i = entries.length - 1; i >= 0; i--) {
      const entry = (entries[i] as string).trim()
      if (isIP(plain(entry)) === 0) break
      client = entry
      if (!this.has(entry)) break
    }
    return client
  }
}
