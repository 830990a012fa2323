/**
 * Predictive scaling in the manner of AWS's: forecast the load one instance start-up time ahead
 * from the recorded load, so capacity is running when the load arrives, not one start-up after.
 * The forecast is a linear trend over the recent window plus, once more than a day is recorded,
 * a daily profile (the average deviation from the trend per time-of-day bucket). Pure: samples
 * and now are passed in.
 */

export interface LoadSample {
  /** ms since the epoch */
  readonly at: number
  /** requests (or jobs) per second */
  readonly load: number
}

export interface ForecastOptions {
  readonly now: number
  /** How far ahead: the measured start-up time of one instance. */
  readonly leadSeconds: number
  /** The trend is fitted over this much recent history. */
  readonly trendWindowSeconds?: number
  /** Width of one time-of-day bucket of the daily profile. */
  readonly bucketSeconds?: number
}

export interface Forecast {
  readonly at: number
  readonly load: number
  readonly seasonal: boolean
}

const DAY_MS = 86_400_000

interface Line { readonly slope: number, readonly intercept: number }

/** Least squares of load on time; with one distinct time it is the mean, flat. */
function fitLine (points: ReadonlyArray<{ x: number, y: number }>): Line {
  const n = points.length
  const meanX = points.reduce((s, p) => s + p.x, 0) / n
  const meanY = points.reduce((s, p) => s + p.y, 0) / n
  let sxx = 0
  let sxy = 0
  for (const p of points) {
    sxx += (p.x - meanX) ** 2
    sxy += (p.x - meanX) * (p.y - meanY)
  }
  const slope = sxx === 0 ? 0 : sxy / sxx
  return { slope, intercept: meanY - slope * meanX }
}

const valueAt = (line: Line, x: number): number => line.intercept + line.slope * x

type Profile = (at: number) => number

/** Mean deviation from `line` per time-of-day bucket, centred on zero. */
function profileAround (samples: readonly LoadSample[], line: (at: number) => number, bucketMs: number): Profile {
  const buckets = Math.max(1, Math.round(DAY_MS / bucketMs))
  const bucketOf = (at: number): number => Math.floor((((at % DAY_MS) + DAY_MS) % DAY_MS) / DAY_MS * buckets) % buckets
  const sums = new Array<number>(buckets).fill(0)
  const counts = new Array<number>(buckets).fill(0)
  for (const s of samples) {
    const b = bucketOf(s.at)
    sums[b] = (sums[b] ?? 0) + s.load - line(s.at)
    counts[b] = (counts[b] ?? 0) + 1
  }
  const means = sums.map((sum, b) => (counts[b] ?? 0) === 0 ? undefined : sum / (counts[b] ?? 1))
  const known = means.filter((m): m is number => m !== undefined)
  const centre = known.reduce((sum, m) => sum + m, 0) / Math.max(1, known.length)
  return (at) => {
    const mean = means[bucketOf(at)]
    return mean === undefined ? 0 : mean - centre
  }
}

/**
 * The daily profile of the whole history, separated from its trend by backfitting: fit the line,
 * average what is left per bucket, refit the line on what the profile leaves, and so on. Without
 * it a steady ramp would pass for a daily pattern, and a daily pattern would tilt the line.
 */
function dailyProfile (samples: readonly LoadSample[], bucketMs: number): Profile {
  const origin = samples[0]?.at ?? 0
  let profile: Profile = () => 0
  for (let round = 0; round < 4; round++) {
    const current = profile
    const line = fitLine(samples.map((s) => ({ x: s.at - origin, y: s.load - current(s.at) })))
    profile = profileAround(samples, (at) => valueAt(line, at - origin), bucketMs)
  }
  return profile
}

/** The load expected at now + lead, never negative; undefined without samples. */
export function forecastLoad (samples: readonly LoadSample[], options: ForecastOptions): Forecast | undefined {
  const sorted = [...samples].filter((s) => Number.isFinite(s.load)).sort((a, b) => a.at - b.at)
  const first = sorted[0]
  const last = sorted[sorted.length - 1]
  if (first === undefined || last === undefined) return undefined
  const at = options.now + options.leadSeconds * 1000
  const seasonal = last.at - first.at > DAY_MS
  const profile = seasonal ? dailyProfile(sorted, (options.bucketSeconds ?? 900) * 1000) : () => 0
  const windowStart = options.now - (options.trendWindowSeconds ?? 3600) * 1000
  const recent = sorted.filter((s) => s.at >= windowStart)
  const basis = recent.length > 0 ? recent : [last]
  // Times relative to now keep the regression's sums small enough for doubles.
  const trend = fitLine(basis.map((s) => ({ x: s.at - options.now, y: s.load - profile(s.at) })))
  return { at, load: Math.max(0, valueAt(trend, at - options.now) + profile(at)), seasonal }
}

export interface PredictiveInput extends ForecastOptions {
  readonly samples: readonly LoadSample[]
  /** The load one replica serves at its target. */
  readonly capacityPerReplica: number
}

export interface PredictiveRecommendation {
  readonly replicas: number
  readonly forecast: Forecast
}

export function predictReplicas (input: PredictiveInput): PredictiveRecommendation | undefined {
  const forecast = forecastLoad(input.samples, input)
  if (forecast === undefined) return undefined
  return { replicas: Math.ceil(forecast.load / input.capacityPerReplica - 1e-9), forecast }
}

/** Predictive capacity is a floor under the reactive answer, never a ceiling over it. */
export function combineWithReactive (reactive: number, predicted: number | undefined): number {
  return predicted === undefined ? reactive : Math.max(reactive, predicted)
}
