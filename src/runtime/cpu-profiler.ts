/**
 * On-demand CPU profiles of this process, asked for by the supervisor over the IPC channel it
 * already has with its Node children: no port of its own, so nothing new to reach from outside.
 * The V8 sampling profiler is driven through the built-in inspector, in-process.
 */
import { Session } from 'node:inspector/promises'
import type { Profiler } from 'node:inspector'

/** A V8 CPU profile as the inspector returns it; saved as JSON it is a `.cpuprofile` file. */
export type CpuProfile = Profiler.Profile

/** Bounds of a profile's length: long enough to sample, short enough not to hold a process hostage. */
export const PROFILE_DURATION_MS = { min: 100, max: 60_000 } as const
/** Bounds of the sampling interval; V8's default is 1000 µs. */
export const SAMPLING_INTERVAL_US = { min: 50, max: 100_000, default: 1000 } as const

export interface CpuProfileRequest {
  readonly type: 'cpu-profile'
  readonly id: string
  readonly durationMs: number
  readonly samplingIntervalUs?: number
}

export type CpuProfileResult =
  | { readonly type: 'cpu-profile-result', readonly id: string, readonly profile: CpuProfile }
  | { readonly type: 'cpu-profile-result', readonly id: string, readonly error: string }

export function isCpuProfileRequest (message: unknown): message is CpuProfileRequest {
  const m = message as Partial<CpuProfileRequest> | null
  return typeof m === 'object' && m !== null && m.type === 'cpu-profile' && typeof m.id === 'string'
}

/** Why these numbers cannot be used for a profile, or undefined when they can. */
export function invalidProfileRequest (durationMs: unknown, samplingIntervalUs: unknown): string | undefined {
  if (typeof durationMs !== 'number' || !Number.isFinite(durationMs) || durationMs < PROFILE_DURATION_MS.min || durationMs > PROFILE_DURATION_MS.max) {
    return `durationMs must be a number from ${PROFILE_DURATION_MS.min} to ${PROFILE_DURATION_MS.max}`
  }
  if (samplingIntervalUs !== undefined && (typeof samplingIntervalUs !== 'number' || !Number.isInteger(samplingIntervalUs) ||
    samplingIntervalUs < SAMPLING_INTERVAL_US.min || samplingIntervalUs > SAMPLING_INTERVAL_US.max)) {
    return `samplingIntervalUs must be an integer from ${SAMPLING_INTERVAL_US.min} to ${SAMPLING_INTERVAL_US.max}`
  }
  return undefined
}

/** Profiles this process for durationMs with the V8 sampling profiler. */
export async function profileSelf (durationMs: number, samplingIntervalUs: number = SAMPLING_INTERVAL_US.default): Promise<CpuProfile> {
  const session = new Session()
  session.connect()
  try {
    await session.post('Profiler.enable')
    await session.post('Profiler.setSamplingInterval', { interval: samplingIntervalUs })
    await session.post('Profiler.start')
    await new Promise((resolve) => setTimeout(resolve, durationMs))
    const { profile } = await session.post('Profiler.stop')
    return profile
  } finally {
    session.disconnect()
  }
}

let installed = false
let busy = false

/**
 * Answers `cpu-profile` requests from the parent process. One profile at a time: a second request
 * while one runs is refused (two sessions would each see the other's overhead). Does nothing
 * without an IPC channel, and leaves the channel's ref state as it is (lifecycle.ts unrefs it).
 */
export function installCpuProfiler (): void {
  if (installed || process.send === undefined) return
  installed = true
  process.on('message', (message: unknown) => {
    if (!isCpuProfileRequest(message)) return
    void answer(message)
  })
}

async function answer (request: CpuProfileRequest): Promise<void> {
  const reply = (result: CpuProfileResult): void => {
    // The parent may be gone by now; nothing else to tell.
    if (process.connected) process.send?.(result)
  }
  const invalid = invalidProfileRequest(request.durationMs, request.samplingIntervalUs)
  if (invalid !== undefined) { reply({ type: 'cpu-profile-result', id: request.id, error: invalid }); return }
  if (busy) { reply({ type: 'cpu-profile-result', id: request.id, error: 'a CPU profile of this process is already running' }); return }
  busy = true
  try {
    reply({ type: 'cpu-profile-result', id: request.id, profile: await profileSelf(request.durationMs, request.samplingIntervalUs) })
  } catch (err) {
    reply({ type: 'cpu-profile-result', id: request.id, error: err instanceof Error ? err.message : String(err) })
  } finally {
    busy = false
  }
}
