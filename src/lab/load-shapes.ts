/**
 * Load shapes for autoscaling scenarios: an offered rate as a function of elapsed seconds, with
 * the moments the load changes. Pure data and arithmetic; the open-loop generator plays them.
 */

export const SHAPE_NAMES = ['step', 'ramp', 'spike', 'wave'] as const
export type ShapeName = typeof SHAPE_NAMES[number]

export interface LoadChange {
  /** Seconds from the start of the trace. */
  readonly at: number
  readonly direction: 'up' | 'down'
}

export interface LoadShape {
  readonly name: ShapeName
  readonly durationSeconds: number
  /** Offered requests per second at `t` seconds from the start (0 ≤ t < durationSeconds). */
  rateAt(t: number): number
  /** When the load starts to rise or fall: a step's edges, a ramp's starts, a wave's troughs and peaks. */
  readonly changes: readonly LoadChange[]
  /** One line for reports, e.g. "75 → 300 req/s at 20 s for 60 s, then 75 for 70 s". */
  readonly description: string
}

export interface ShapeSettings {
  /** The rate before and after the change, requests per second. */
  readonly base: number
  /** Seconds at base before the change. */
  readonly leadSeconds: number
  /** Seconds the changed load lasts (a wave: its period). */
  readonly holdSeconds: number
  /** Seconds at base after it. */
  readonly tailSeconds: number
  /** A wave's number of periods. */
  readonly periods: number
  /** Peak over base: 4 for a step, ramp and wave; 6 for a spike by default. */
  readonly factor: number
  /** A ramp's rise and fall, seconds. */
  readonly rampSeconds: number
}

export const DEFAULT_SHAPE_SETTINGS: Readonly<Record<ShapeName, ShapeSettings>> = {
  step: { base: 60, leadSeconds: 20, holdSeconds: 60, tailSeconds: 70, factor: 4, rampSeconds: 0, periods: 0 },
  ramp: { base: 60, leadSeconds: 20, holdSeconds: 30, tailSeconds: 50, factor: 4, rampSeconds: 30, periods: 0 },
  spike: { base: 60, leadSeconds: 20, holdSeconds: 8, tailSeconds: 60, factor: 6, rampSeconds: 0, periods: 0 },
  wave: { base: 60, leadSeconds: 10, holdSeconds: 90, tailSeconds: 0, factor: 4, rampSeconds: 0, periods: 2 },
}

const round = (v: number): number => Math.round(v * 10) / 10

/** base until lead, base × factor for hold seconds, base for tail seconds. */
export function stepShape (s: ShapeSettings, name: 'step' | 'spike' = 'step'): LoadShape {
  const peak = s.base * s.factor
  const end = s.leadSeconds + s.holdSeconds
  return {
    name,
    durationSeconds: end + s.tailSeconds,
    rateAt: (t) => t >= s.leadSeconds && t < end ? peak : s.base,
    changes: [{ at: s.leadSeconds, direction: 'up' }, { at: end, direction: 'down' }],
    description: `${round(s.base)} → ${round(peak)} req/s at ${s.leadSeconds} s for ${s.holdSeconds} s, then ${round(s.base)} for ${s.tailSeconds} s`,
  }
}

/** A step that lasts seconds and goes higher (6× by default). */
export function spikeShape (s: ShapeSettings): LoadShape {
  return stepShape(s, 'spike')
}

/** base, a linear rise to base × factor over rampSeconds, hold, a linear fall back, tail at base. */
export function rampShape (s: ShapeSettings): LoadShape {
  const peak = s.base * s.factor
  const upEnd = s.leadSeconds + s.rampSeconds
  const downStart = upEnd + s.holdSeconds
  const downEnd = downStart + s.rampSeconds
  return {
    name: 'ramp',
    durationSeconds: downEnd + s.tailSeconds,
    rateAt: (t) => {
      if (t < s.leadSeconds || t >= downEnd) return s.base
      if (t < upEnd) return s.base + (peak - s.base) * (t - s.leadSeconds) / s.rampSeconds
      if (t < downStart) return peak
      return peak - (peak - s.base) * (t - downStart) / s.rampSeconds
    },
    changes: [{ at: s.leadSeconds, direction: 'up' }, { at: downStart, direction: 'down' }],
    description: `${round(s.base)} → ${round(peak)} req/s over ${s.rampSeconds} s from ${s.leadSeconds} s, held ${s.holdSeconds} s, back over ${s.rampSeconds} s, then ${round(s.base)} for ${s.tailSeconds} s`,
  }
}

/** base until lead, then `periods` sine periods of holdSeconds between base and base × factor from a trough, then tail at base. */
export function waveShape (s: ShapeSettings): LoadShape {
  const peak = s.base * s.factor
  const periods = Math.max(1, Math.round(s.periods))
  const end = s.leadSeconds + periods * s.holdSeconds
  const changes: LoadChange[] = []
  for (let k = 0; k < periods; k++) {
    changes.push({ at: s.leadSeconds + k * s.holdSeconds, direction: 'up' })
    changes.push({ at: s.leadSeconds + (k + 0.5) * s.holdSeconds, direction: 'down' })
  }
  return {
    name: 'wave',
    durationSeconds: end + s.tailSeconds,
    rateAt: (t) => {
      if (t < s.leadSeconds || t >= end) return s.base
      const phase = 2 * Math.PI * (t - s.leadSeconds) / s.holdSeconds
      return s.base + (peak - s.base) * (1 - Math.cos(phase)) / 2
    },
    changes,
    description: `${round(s.base)} req/s for ${s.leadSeconds} s, then ${periods} sine period${periods === 1 ? '' : 's'} of ${s.holdSeconds} s between ${round(s.base)} and ${round(peak)}${s.tailSeconds > 0 ? `, then ${round(s.base)} for ${s.tailSeconds} s` : ''}`,
  }
}

export function loadShape (name: ShapeName, overrides: Partial<ShapeSettings> = {}): LoadShape {
  const settings = { ...DEFAULT_SHAPE_SETTINGS[name], ...overrides }
  switch (name) {
    case 'step': return stepShape(settings)
    case 'spike': return spikeShape(settings)
    case 'ramp': return rampShape(settings)
    case 'wave': return waveShape(settings)
  }
}

/** The mean rate of each whole second of a shape: what an ideal fleet has to carry that second. */
export function ratePerSecond (shape: LoadShape, samplesPerSecond = 10): number[] {
  return Array.from({ length: Math.ceil(shape.durationSeconds) }, (_, s) => {
    let sum = 0
    for (let i = 0; i < samplesPerSecond; i++) sum += shape.rateAt(s + (i + 0.5) / samplesPerSecond)
    return sum / samplesPerSecond
  })
}
