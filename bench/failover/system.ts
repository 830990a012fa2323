/**
 * What a trial needs from an HA system under test, Outgrow's or Patroni: three PostgreSQL nodes
 * named a, b, c, the leader as the DCS holds it, and the faults. Everything else (writes, reads,
 * the two-primary probe, the final check) goes through the same client for both.
 */
import { readFileSync } from 'node:fs'
import type { DbNode } from './client.js'

export { signalPostgres } from '../../src/lab/pg-signal.js'

export const NODE_NAMES = ['a', 'b', 'c'] as const

export interface HaSystem {
  readonly name: 'outgrow' | 'patroni'
  readonly nodes: readonly DbNode[]
  /** The settings the report shows, as they were configured. */
  readonly settings: Readonly<Record<string, string | number | boolean>>
  /** Bootstraps the cluster: a leader on a, b and c streaming from it. */
  start(): Promise<void>
  /** The member named by the leader key, or null (no leader, or the DCS did not answer). */
  leader(): Promise<string | null>
  /** SIGKILL (node loss) or SIGSTOP / SIGCONT of node's PostgreSQL and its HA process together. */
  signal(name: string, signal: 'SIGKILL' | 'SIGSTOP' | 'SIGCONT'): void
  /** Starts a killed node's HA process again, as its service manager would. */
  restart(name: string): Promise<void>
  /** The last lines of node's HA log and PostgreSQL log, for a trial that went wrong. */
  logs(name: string): string
  stop(): Promise<void>
}

export function tail (file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
  } catch {
    return '(no log)'
  }
}
