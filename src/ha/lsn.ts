import type { Lsn } from './dcs/port.js'

/** A WAL position the way PostgreSQL prints it: 16/B374D848. */
export function formatLsn (lsn: Lsn): string {
  const high = Math.floor(lsn / 0x1_0000_0000)
  const low = lsn % 0x1_0000_0000
  return `${high.toString(16).toUpperCase()}/${low.toString(16).toUpperCase()}`
}

/** Parses PostgreSQL's text form (16/B374D848) back into a byte offset; null stays null. */
export function parseLsn (text: string | null | undefined): Lsn | null {
  if (text === null || text === undefined) return null
  const match = /^([0-9A-Fa-f]+)\/([0-9A-Fa-f]+)$/.exec(text)
  if (match === null) return null
  return parseInt(match[1] as string, 16) * 0x1_0000_0000 + parseInt(match[2] as string, 16)
}
