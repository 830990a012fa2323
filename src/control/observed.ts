import type { UnitKind } from './units.js'

/**
 * Observed state: what runs, as executors see it. `outgrow status`, the autoscaler and plan()
 * read it; only executors write it.
 */
export const UNIT_STATES = ['starting', 'ready', 'stopping', 'crashed', 'failed'] as const
export type UnitState = typeof UNIT_STATES[number]

export interface ObservedUnit {
  readonly name: string
  readonly kind: UnitKind
  readonly group: string
  readonly fingerprint: string
  readonly state: UnitState
  readonly server: string
  readonly pid?: number | undefined
  /** Where it serves (postgres://…, redis://…, http://…), as the process reported it. */
  readonly address?: string | undefined
  readonly restarts: number
  /** When it entered its state (ms since the epoch). */
  readonly since: number
  /** Why it crashed or failed, for status. */
  readonly detail?: string | undefined
  /** The processes of a unit that runs several (an HA node: agent, postmaster, fence keeper). */
  readonly pids?: Readonly<Record<string, number | undefined>> | undefined
}
