import { OutgrowError } from '../errors/index.js'
import type { CpuProfile } from '../runtime/cpu-profiler.js'
import { requestCpuProfile, type CpuProfileOptions } from '../supervisor/cpu-profile-request.js'
import type { ManagedProcess } from '../supervisor/managed-process.js'
import type { UnitKind } from './units.js'

/** Units whose process runs process-main.js, which answers CPU profile requests over IPC. */
const PROFILED_KINDS: ReadonlySet<UnitKind> = new Set(['app', 'worker', 'gateway'])

export type UnitProcessLookup = (name: string) => { readonly kind: UnitKind, readonly process: ManagedProcess | undefined } | undefined

/**
 * A CPU profile of one app instance, worker or gateway of a stack, by unit name. A gateway run
 * with several processes (node:cluster) is profiled in its primary, the process the supervisor
 * started and talks to; that primary only hands connections over (round-robin), the workers that
 * proxy are not reached: profile a gateway with `processes: 1` to see its proxying.
 */
export async function profileStackProcess (lookup: UnitProcessLookup, name: string, options: CpuProfileOptions): Promise<CpuProfile> {
  const unit = lookup(name)
  if (unit === undefined) throw new OutgrowError('OUTGROW_NOT_FOUND', `no process ${name} in the stack`, { process: name })
  if (!PROFILED_KINDS.has(unit.kind)) {
    throw new OutgrowError('OUTGROW_PROFILE_UNSUPPORTED', `${name} is a ${unit.kind} process: only app instances, workers and gateways can be CPU-profiled`, { process: name })
  }
  if (unit.process?.running !== true) throw new OutgrowError('OUTGROW_PROFILE_FAILED', `CPU profile of ${name}: the process is not running`, { process: name })
  return await requestCpuProfile(unit.process, options)
}
