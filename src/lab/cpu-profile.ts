/**
 * What a V8 CPU profile says, in a few lines: the functions the process spent its own time in
 * ("self" time, not counting what they called), heaviest first.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, isAbsolute, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { CpuProfile } from '../runtime/cpu-profiler.js'

export type { CpuProfile } from '../runtime/cpu-profiler.js'

/**
 * Names V8 gives to time not spent in a JavaScript function. They are kept in a summary: much
 * time in the garbage collector is a finding of its own, and idle time says the process had spare CPU.
 */
export const VM_STATE_NAMES = { idle: '(idle)', program: '(program)', garbageCollector: '(garbage collector)', root: '(root)' } as const

export interface ProfiledFunction {
  /** The function's name; `(anonymous)` for an unnamed one, or a VM state such as `(idle)`. */
  readonly name: string
  /** `url:line` (1-based), a file path relative to the working directory when inside it; '' for VM states. */
  readonly location: string
  readonly selfMs: number
  /** selfMs as a fraction of sampledMs. */
  readonly selfShare: number
}

export interface ProfileSummary {
  /** Time the samples cover (ms). */
  readonly sampledMs: number
  readonly samples: number
  /** Heaviest self time first. */
  readonly functions: readonly ProfiledFunction[]
}

/** Outgrow's own install folder (…/dist/src/lab → three levels up). */
const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url))

/** path relative to root when inside it, else undefined. */
function inside (root: string, path: string): string | undefined {
  const rel = relative(root, path)
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel) ? rel : undefined
}

/**
 * `url:line`, a file inside the working directory or Outgrow's install folder shown relative to
 * it (`node_modules/fastify/lib/route.js`), so reports name code, not where it was installed.
 */
function locationOf (url: string, lineNumber: number): string {
  if (url === '') return ''
  let shown = url
  try {
    const path = url.startsWith('file://') ? fileURLToPath(url) : url
    if (isAbsolute(path)) shown = inside(process.cwd(), path) ?? inside(PACKAGE_ROOT, path) ?? path
  } catch {}
  return lineNumber >= 0 ? `${shown}:${lineNumber + 1}` : shown
}

/**
 * How long each sample stands for (µs). Samples come at irregular intervals (the sampler thread
 * is not exact, a busy process delays it), so each one counts until the next one is taken, the
 * last one until the profile ends; counting hitCount × interval would misstate both. A profile
 * without samples (older formats) falls back to spreading its length over the hit counts.
 */
function sampleDurations (profile: CpuProfile): { ids: readonly number[], durations: readonly number[], samples: number } {
  const samples = profile.samples ?? []
  const deltas = profile.timeDeltas ?? []
  if (samples.length > 0 && deltas.length === samples.length) {
    const times: number[] = []
    let t = profile.startTime
    for (const delta of deltas) { t += delta; times.push(t) }
    const durations = times.map((time, i) => Math.max(0, (times[i + 1] ?? Math.max(profile.endTime, time)) - time))
    return { ids: samples, durations, samples: samples.length }
  }
  const hits = profile.nodes.filter((n) => (n.hitCount ?? 0) > 0)
  const total = hits.reduce((sum, n) => sum + (n.hitCount ?? 0), 0)
  const perHit = total === 0 ? 0 : (profile.endTime - profile.startTime) / total
  return { ids: hits.map((n) => n.id), durations: hits.map((n) => (n.hitCount ?? 0) * perHit), samples: total }
}

/**
 * Self time per function, from the samples and their time deltas. Nodes of the same function
 * (it appears once per call path in the tree) are merged by name, script and line. A function
 * TurboFan inlined is charged to the function it was inlined into: that is how the inspector's
 * profiler reports it.
 */
export function summarizeProfile (profile: CpuProfile, top = 10): ProfileSummary {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
  const { ids, durations, samples } = sampleDurations(profile)
  const byFunction = new Map<string, { name: string, location: string, selfUs: number }>()
  let sampledUs = 0
  ids.forEach((id, i) => {
    const duration = durations[i] ?? 0
    sampledUs += duration
    const frame = nodes.get(id)?.callFrame
    if (frame === undefined) return
    const name = frame.functionName === '' ? '(anonymous)' : frame.functionName
    const key = `${name}\u0000${frame.url}\u0000${frame.lineNumber}`
    const entry = byFunction.get(key) ?? { name, location: locationOf(frame.url, frame.lineNumber), selfUs: 0 }
    entry.selfUs += duration
    byFunction.set(key, entry)
  })
  const functions = [...byFunction.values()]
    .sort((a, b) => b.selfUs - a.selfUs)
    .slice(0, Math.max(0, top))
    .map((f) => ({ name: f.name, location: f.location, selfMs: f.selfUs / 1000, selfShare: sampledUs === 0 ? 0 : f.selfUs / sampledUs }))
  return { sampledMs: sampledUs / 1000, samples, functions }
}

/** Saves a profile as a `.cpuprofile` file (Chrome DevTools, VS Code and speedscope open it). */
export async function writeCpuProfile (path: string, profile: CpuProfile): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  await writeFile(path, JSON.stringify(profile))
}
