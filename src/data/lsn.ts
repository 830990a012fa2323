/** PostgreSQL LSNs ('16/B374D848') as 64-bit integers, so positions compare correctly. */
export function parseLsn (lsn: string): bigint {
  const slash = lsn.indexOf('/')
  if (slash <= 0) throw new TypeError(`not an LSN: ${lsn}`)
  const high = BigInt('0x' + lsn.slice(0, slash))
  const low = BigInt('0x' + lsn.slice(slash + 1))
  return (high << 32n) | low
}

/** The fixed-width text of an LSN ('00000000/016B3748'): string order is LSN order. */
export function formatLsn (lsn: bigint): string {
  const part = (n: bigint): string => n.toString(16).toUpperCase().padStart(8, '0')
  return `${part(lsn >> 32n)}/${part(lsn & 0xFFFFFFFFn)}`
}
