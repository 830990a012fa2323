import { randomUUID } from 'node:crypto'
import { OutgrowError } from '../errors/index.js'
import { invalidProfileRequest, type CpuProfile, type CpuProfileRequest, type CpuProfileResult } from '../runtime/cpu-profiler.js'
import type { ManagedProcess } from './managed-process.js'

export interface CpuProfileOptions {
  /** How long the process is sampled (100 ms to 60 s). */
  readonly durationMs: number
  /** V8's sampling interval in µs (default 1000). */
  readonly samplingIntervalUs?: number
  /** How long to wait beyond durationMs for the answer (default 10 s): stopping and sending take time. */
  readonly graceMs?: number
}

function isResultFor (id: string, message: unknown): message is CpuProfileResult {
  const m = message as Partial<CpuProfileResult> | null
  return typeof m === 'object' && m !== null && m.type === 'cpu-profile-result' && m.id === id
}

/**
 * Asks a Node child (one that runs installCpuProfiler, runtime/cpu-profiler.ts) for a CPU profile
 * over its IPC channel. Fails with OUTGROW_PROFILE_FAILED when the process refuses (one already
 * runs), exits, or does not answer in time.
 */
export async function requestCpuProfile (target: ManagedProcess, options: CpuProfileOptions): Promise<CpuProfile> {
  const invalid = invalidProfileRequest(options.durationMs, options.samplingIntervalUs)
  if (invalid !== undefined) throw new OutgrowError('OUTGROW_VALIDATION', `CPU profile of ${target.spec.name}: ${invalid}`, { field: 'durationMs' })
  const name = target.spec.name
  const request: CpuProfileRequest = {
    type: 'cpu-profile', id: randomUUID(), durationMs: options.durationMs,
    ...(options.samplingIntervalUs === undefined ? {} : { samplingIntervalUs: options.samplingIntervalUs }),
  }
  const failed = (why: string): OutgrowError => new OutgrowError('OUTGROW_PROFILE_FAILED', `CPU profile of ${name}: ${why}`, { process: name })
  const waitMs = options.durationMs + (options.graceMs ?? 10_000)
  return await new Promise<CpuProfile>((resolve, reject) => {
    const timer = setTimeout(() => { settle(); reject(failed(`no answer within ${waitMs} ms`)) }, waitMs)
    const onMessage = (message: unknown): void => {
      if (!isResultFor(request.id, message)) return
      settle()
      if ('profile' in message) resolve(message.profile)
      else reject(failed(message.error))
    }
    const onExit = (): void => { settle(); reject(failed('the process exited')) }
    const settle = (): void => {
      clearTimeout(timer)
      target.off('message', onMessage)
      target.off('exit', onExit)
    }
    target.on('message', onMessage)
    target.once('exit', onExit)
    target.send(request).catch((err: unknown) => { settle(); reject(failed(err instanceof Error ? err.message : String(err))) })
  })
}
