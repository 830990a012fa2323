/**
 * Capacity as the playbook counts it: active users. A user who sends one request every
 * `thinkSeconds` (reading the page in between) adds 1 / thinkSeconds req/s, so a level that
 * sustains C req/s serves C × thinkSeconds such users at once.
 */
export function activeUsers (capacity: number, thinkSeconds: number): number {
  return Math.round(capacity * thinkSeconds)
}

/** The concurrent users each level of the playbook is drawn for (seed 003). */
export const PLAYBOOK_USERS: Readonly<Record<number, { readonly low: number, readonly high: number }>> = {
  1: { low: 100, high: 1000 },
  2: { low: 1000, high: 10_000 },
  3: { low: 10_000, high: 100_000 },
  4: { low: 100_000, high: 1_000_000 },
  5: { low: 1_000_000, high: 10_000_000 },
}

const compact = (n: number): string => n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1000 ? `${n / 1000}K` : String(n)

export function playbookRange (level: number): string {
  const range = PLAYBOOK_USERS[level]
  return range === undefined ? '—' : `${compact(range.low)}–${compact(range.high)}`
}
