/**
 * Capacity search: the highest offered rate a server sustains within its objective. A ramp finds
 * the region (each step `growth` times the last, on short steps), then a bisection narrows it on
 * full-length steps until the bracket is within `precision`. The capacity is the highest rate that
 * passed a full-length step: the ramp's highest passing rate is confirmed on one before it counts.
 */

/** How long a probe runs: short on the ramp, full length in the bisection and for confirmation. */
export type StepKind = 'ramp' | 'full'

export interface StepOutcome {
  /** Offered rate, requests per second. */
  readonly rate: number
  readonly kind: StepKind
  readonly pass: boolean
  /** Why it failed, in a few words (`p99 312 ms > 100 ms`); empty when it passed. */
  readonly reason: string
  readonly p99Ms: number
  readonly achievedRate: number
  /** Failures (5xx, network errors, time-outs) over requests completed. */
  readonly errorRatio: number
}

/** Offers a rate for a step of this kind; `longer` asks for a measured window twice the usual length. */
export type Probe = (rate: number, kind: StepKind, longer?: boolean) => Promise<StepOutcome>

export interface SearchOptions {
  /** First rate of the ramp (req/s). */
  readonly startRate: number
  /** Each ramp step offers this many times the last (> 1). */
  readonly growth: number
  /** The bisection stops once (high − low) / low is at most this. */
  readonly precision: number
  /** Never offer more than this; a server that passes it is reported at it, `limited`. */
  readonly maxRate: number
  /** Below this the server is said to sustain nothing (req/s). */
  readonly minRate: number
  /** A bracket from an earlier run ([passes, fails] there): the ramp starts from it instead. */
  readonly bracket?: readonly [number, number] | undefined
  /**
   * A step that fails narrowly — p99 within this many times the objective and no failures — is
   * run once more, measured twice as long, and that longer step decides: one stall (a GC pause, a
   * CFS period missed, a neighbour on the machine) must not cap the search, and a longer window
   * puts more requests above its p99, so one stall weighs less in it. 0 turns the retry off.
   */
  readonly retryWithin?: number | undefined
  /** The p99 objective (ms) the retry rule compares with. */
  readonly sloP99Ms?: number | undefined
}

export interface SearchResult {
  /** Highest rate that passed a full-length step (0 when none did). */
  readonly capacity: number
  /** The lowest rate seen to fail; capacity ≤ it. Infinity when nothing failed. */
  readonly firstFailing: number
  /** True when the server passed maxRate: its capacity is at least that. */
  readonly limited: boolean
  readonly steps: readonly StepOutcome[]
}

export const DEFAULT_SEARCH: SearchOptions = { startRate: 50, growth: 1.6, precision: 0.05, maxRate: 20_000, minRate: 1, retryWithin: 3, sloP99Ms: 100 }

const round = (rate: number): number => rate >= 100 ? Math.round(rate) : Math.round(rate * 10) / 10

/** Runs the ramp and the bisection against probe; every step is recorded in order. */
export async function searchCapacity (probe: Probe, options: SearchOptions = DEFAULT_SEARCH): Promise<SearchResult> {
  if (!(options.growth > 1)) throw new RangeError('growth must be above 1')
  if (!(options.precision > 0)) throw new RangeError('precision must be above 0')
  const steps: StepOutcome[] = []
  const narrow = (o: StepOutcome): boolean => options.retryWithin !== undefined && options.retryWithin > 0 && options.sloP99Ms !== undefined &&
    o.errorRatio === 0 && o.p99Ms <= options.sloP99Ms * options.retryWithin
  const run = async (rate: number, kind: StepKind): Promise<boolean> => {
    const outcome = await probe(round(rate), kind)
    steps.push(outcome)
    if (outcome.pass || !narrow(outcome)) return outcome.pass
    const again = await probe(round(rate), kind, true)
    steps.push(again)
    return again.pass
  }

  // high: lowest rate seen to fail; passed: rates that passed a short ramp step, highest first.
  let high = Number.POSITIVE_INFINITY
  // Whether high failed a full-length step: a short ramp step's failure is only a hint.
  let highConfirmed = false
  const passed: number[] = []
  const [fromLow, fromHigh] = options.bracket ?? [options.startRate, Number.NaN]
  let rate = Math.min(Math.max(fromLow, options.minRate), options.maxRate)
  const zero = (): SearchResult => ({ capacity: 0, firstFailing: round(high), limited: false, steps })

  // Ramp up from `from` until a step fails or maxRate passes; the rates that passed go to `passed`.
  const rampUp = async (from: number, next: number): Promise<void> => {
    let at = from
    while (at < options.maxRate) {
      at = Math.min(next, options.maxRate)
      if (!await run(at, 'ramp')) { high = at; highConfirmed = false; return }
      passed.unshift(at)
      next = at * options.growth
    }
  }

  if (await run(rate, 'ramp')) {
    passed.unshift(rate)
    await rampUp(rate, Number.isFinite(fromHigh) && fromHigh > rate ? fromHigh : rate * options.growth)
  } else {
    // The start already fails: come down until a step passes.
    high = rate
    for (;;) {
      rate = rate / options.growth
      if (rate < options.minRate) return zero()
      if (await run(rate, 'ramp')) { passed.unshift(rate); break }
      high = rate
    }
  }

  // A short step can pass a little past the capacity (its queue had no time to grow): confirm the
  // highest ramp rate on a full-length step, and come down through the ramp's rates until one holds.
  let low = 0
  for (;;) {
    const candidate = passed.shift() ?? low / options.growth
    if (candidate < options.minRate) return zero()
    low = candidate
    if (await run(low, 'full')) break
    high = low
    highConfirmed = true
  }
  passed.length = 0

  // Bisect on full-length steps (geometric middle: the bracket spans a ratio, not a difference).
  // When every step passed up to a top that only a short ramp step failed, that one step capped the
  // search — a stall in the wrong four seconds would halve a capacity — so the top is tried on a
  // full step too; if it holds, the ramp goes on from there (at most twice, so a run stays bounded).
  for (let resumes = 0; ; resumes++) {
    while (Number.isFinite(high) && (high - low) / low > options.precision) {
      const middle = Math.sqrt(low * high)
      if (await run(middle, 'full')) low = middle
      else { high = middle; highConfirmed = true }
    }
    if (!Number.isFinite(high) || highConfirmed || resumes >= 2) break
    if (!await run(high, 'full')) { highConfirmed = true; break }
    low = high
    high = Number.POSITIVE_INFINITY
    await rampUp(low, low * options.growth)
    // The ramp's passes above low are hints; the bisection checks them on full steps, and when the
    // ramp reached maxRate its highest pass is checked here.
    const top = passed[0]
    passed.length = 0
    if (!Number.isFinite(high) && top !== undefined) {
      if (await run(top, 'full')) low = top
      else { high = top; highConfirmed = true }
    }
  }
  const limited = !Number.isFinite(high)
  return { capacity: round(low), firstFailing: limited ? high : round(high), limited, steps }
}

/** Median, minimum and maximum of several runs' capacities. */
export function spread (values: readonly number[]): { median: number, min: number, max: number } {
  if (values.length === 0) return { median: 0, min: 0, max: 0 }
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  const median = sorted.length % 2 === 1 ? sorted[middle] as number : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
  return { median: round(median), min: sorted[0] as number, max: sorted[sorted.length - 1] as number }
}
