import { isIP } from 'node:net'

export interface AddressRange {
  readonly address: string
  readonly prefix: number
  readonly family: 'ipv4' | 'ipv6'
}

/** `10.0.0.0/8`, `fd00::/8` or a single address (a /32 or /128); undefined when it is neither. */
export function parseAddressRange (entry: string): AddressRange | undefined {
  const [address = '', prefixText, extra] = entry.trim().split('/')
  const version = isIP(address)
  if (version === 0 || extra !== undefined) return undefined
  const bits = version === 4 ? 32 : 128
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return undefined
  const prefix = prefixText === undefined ? bits : Number(prefixText)
  if (prefix > bits) return undefined
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' }
}
