import { createHash } from 'node:crypto'

/** A fixed single-core workload's speed on this machine, so capacities can be compared across machines. */
export interface CpuCalibration {
  /** Operations per second of the workload on one core (best of the rounds). */
  readonly opsPerSecond: number
  readonly rounds: number
  readonly workload: string
}

const WORKLOAD = 'per op: JSON round trip of a 20-product page, SHA-256 of its text, a regular-expression scan'

const page = JSON.stringify(Array.from({ length: 20 }, (_, i) => ({
  id: i + 1, slug: `product-${i + 1}`, name: `Deluxe wireless lamp ${i + 1}`, priceCents: 1999 + i * 100,
  category: 'electronics', stock: 40 + i, description: 'A dependable product for every day, made to last, in several colours.',
})))
const WORD = /\b(lamp|wireless|colours)\b/g

/** One operation: what an app server does per request, in miniature and always the same. */
function operation (): number {
  const parsed = JSON.parse(page) as Array<{ priceCents: number }>
  const text = JSON.stringify(parsed)
  const digest = createHash('sha256').update(text).digest()
  return (text.match(WORD)?.length ?? 0) + (digest[0] as number) + parsed.length
}

/**
 * Runs the workload on the calling thread for `rounds` rounds of `roundMs` and keeps the best round
 * (the one least disturbed by anything else running). Synchronous: it measures one core.
 */
export function calibrateCpu (rounds = 5, roundMs = 400): CpuCalibration {
  let best = 0
  let sink = 0
  for (let round = 0; round < rounds; round++) {
    const start = performance.now()
    let ops = 0
    while (performance.now() - start < roundMs) {
      for (let i = 0; i < 50; i++) sink += operation()
      ops += 50
    }
    best = Math.max(best, ops / ((performance.now() - start) / 1000))
  }
  if (sink < 0) throw new Error('unreachable')
  return { opsPerSecond: Math.round(best), rounds, workload: WORKLOAD }
}
