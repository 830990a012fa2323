import type { Lsn } from './dcs/port.js'

/** A WAL position the way PostgreSQL prints it: 16/B374D848. */
export function formatLsn (lsn: Lsn): string {
  const high = Math.floor(lsn / 0x1_0000_0000)
  const low = lsn % 0x1_0000_0000
  return `${high.toString(16).toUpperCase()}/${low.toString(16).toUpperCase()}`
}
