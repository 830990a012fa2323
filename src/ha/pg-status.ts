/**
 * What one query tells about the local PostgreSQL (Patroni's cluster_info_query), and the checks
 * built on it: whom a replica follows (its primary_conninfo, matched against the members'
 * addresses) and whether its WAL diverged from the leader's (the leader's timeline history).
 */
import type pg from 'pg'
import type { Lsn } from './dcs/port.js'
import { parseLsn } from './lsn.js'

export interface Peer { readonly host: string, readonly port: number }

export interface RawStatus {
  readonly recovery: boolean
  readonly lsn: Lsn
  readonly timeline: number
  readonly readOnly: boolean
  readonly conninfo: string
  readonly slot: string
  readonly syncNames: string
  readonly streaming: boolean
}

const STATUS_SQL = `SELECT pg_is_in_recovery() AS recovery,
  CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END AS current,
  pg_last_wal_receive_lsn()::text AS received,
  pg_last_wal_replay_lsn()::text AS replayed,
  current_setting('default_transaction_read_only') AS read_only,
  current_setting('primary_conninfo') AS conninfo,
  current_setting('primary_slot_name') AS slot,
  current_setting('synchronous_standby_names') AS sync_names,
  CASE WHEN pg_is_in_recovery() THEN NULL
    ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END AS primary_tli,
  (SELECT received_tli FROM pg_stat_wal_receiver) AS received_tli,
  (SELECT status FROM pg_stat_wal_receiver) AS receiver,
  (SELECT timeline_id FROM pg_control_checkpoint()) AS checkpoint_tli`

interface Row {
  recovery: boolean
  current: string | null
  received: string | null
  replayed: string | null
  read_only: string
  conninfo: string
  slot: string
  sync_names: string
  primary_tli: number | null
  received_tli: number | null
  receiver: string | null
  checkpoint_tli: number
}

export async function readStatus (client: pg.Client): Promise<RawStatus> {
  const row = (await client.query<Row>(STATUS_SQL)).rows[0] as Row
  // A replica reports what it has received and flushed (all of it is replayed on promotion).
  const lsn = row.recovery
    ? Math.max(parseLsn(row.received) ?? 0, parseLsn(row.replayed) ?? 0)
    : parseLsn(row.current) ?? 0
  const timeline = row.recovery ? Math.max(row.received_tli ?? 0, row.checkpoint_tli) : row.primary_tli ?? row.checkpoint_tli
  return {
    recovery: row.recovery, lsn, timeline, readOnly: row.read_only === 'on', conninfo: row.conninfo, slot: row.slot,
    syncNames: row.sync_names, streaming: row.receiver === 'streaming',
  }
}

/**
 * A standby's timeline as it replays now (IDENTIFY_SYSTEM on a replication connection to itself,
 * as Patroni does): pg_stat_wal_receiver knows it only while streaming, and the last checkpoint's
 * timeline lags a timeline switch until the next restartpoint.
 */
export async function identifyTimeline (client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ timeline: number | string }>('IDENTIFY_SYSTEM')
  return Number(rows[0]?.timeline ?? 0)
}

/** The reserved standby name that never connects: commits wait instead of going unprotected. */
export const NO_STANDBY = 'outgrow_no_standby'

export function syncStandbyNames (names: readonly string[], strict = true): string {
  if (names.length === 0 && !strict) return ''
  const listed = names.length === 0 ? [NO_STANDBY] : names
  return `ANY 1 (${listed.map((n) => `"${n.replace(/"/g, '')}"`).join(', ')})`
}

export function parseSyncStandbyNames (setting: string): string[] {
  const match = /^\s*ANY\s+\d+\s*\((.*)\)\s*$/i.exec(setting)
  const list = match === null ? setting : match[1] as string
  return list.split(',').map((n) => n.trim().replace(/^"|"$/g, '')).filter((n) => n !== '' && n !== NO_STANDBY).sort()
}

export function parseConninfo (conninfo: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const match of conninfo.matchAll(/(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)/g)) {
    const value = match[2] as string
    out[match[1] as string] = value.startsWith("'") ? value.slice(1, -1).replace(/\\(.)/g, '$1') : value
  }
  return out
}

export function conninfoFor (peer: Peer, me: string): string {
  return `host=${peer.host} port=${peer.port} user=postgres application_name=${me} connect_timeout=2`
}

/**
 * The member this replica follows: the peer whose address primary_conninfo names, provided the
 * conninfo and slot are the ones `follow` writes (application_name = this member, its own slot).
 * Anything else (a fresh pg_basebackup -R clone) counts as following nobody, so that the agent
 * rewrites it and synchronous_standby_names can name this member.
 */
export function followedPeer (status: RawStatus, me: string, slot: string, peers: Readonly<Record<string, Peer>>): string | null {
  const info = parseConninfo(status.conninfo)
  if (info.application_name !== me || status.slot !== slot) return null
  for (const [name, peer] of Object.entries(peers)) {
    if (name !== me && peer.host === info.host && String(peer.port) === info.port) return name
  }
  return null
}

/** Where each earlier timeline of `history` (a .history file) ended: timeline → switch point. */
export function parseHistory (history: string): Map<number, Lsn> {
  const ends = new Map<number, Lsn>()
  for (const line of history.split('\n')) {
    const [tli, lsn] = line.trim().split(/\s+/)
    const at = parseLsn(lsn)
    if (tli !== undefined && /^\d+$/.test(tli) && at !== null) ends.set(Number(tli), at)
  }
  return ends
}

/** The leader's timeline and the history file that leads to it ('' on timeline 1). */
export async function readTimelineHistory (client: pg.Client): Promise<{ timeline: number, history: string }> {
  const { rows } = await client.query<{ tli: number }>(`SELECT CASE WHEN pg_is_in_recovery() THEN (SELECT timeline_id FROM pg_control_checkpoint())
    ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END AS tli`)
  const timeline = rows[0]?.tli ?? 1
  if (timeline <= 1) return { timeline, history: '' }
  const file = `pg_wal/${timeline.toString(16).toUpperCase().padStart(8, '0')}.history`
  const history = (await client.query<{ text: string }>('SELECT pg_read_file($1) AS text', [file])).rows[0]?.text ?? ''
  return { timeline, history }
}

/**
 * A replica diverged from the leader when it is on a timeline the leader's history left at a point
 * before the replica's position, or on a timeline the leader never had: streaming cannot go on,
 * pg_rewind must cut it back first.
 */
export function diverged (local: { timeline: number, lsn: Lsn }, leader: { timeline: number, history: string }): boolean {
  if (local.timeline === leader.timeline) return false
  if (local.timeline > leader.timeline) return true
  const end = parseHistory(leader.history).get(local.timeline)
  return end === undefined || local.lsn > end
}
