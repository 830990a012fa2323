/**
 * Time as a dependency. Control loops take a Clock instead of calling Date.now() or setTimeout
 * themselves, so tests drive them with a ManualClock and never wait for real time to pass.
 */
export interface Clock {
  /** Milliseconds since the epoch (or since any fixed origin, for a ManualClock). */
  now(): number
  /** Resolves once `ms` milliseconds have passed on this clock. */
  sleep(ms: number): Promise<void>
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: async (ms) => { await new Promise<void>((resolve) => setTimeout(resolve, ms)) },
}

interface Sleeper {
  readonly wakeAt: number
  readonly resolve: () => void
}

/** A clock that moves only when told to; sleeps resolve when `advance` reaches their wake time. */
export class ManualClock implements Clock {
  private current: number
  private sleepers: Sleeper[] = []

  constructor (start = 0) {
    this.current = start
  }

  now (): number {
    return this.current
  }

  async sleep (ms: number): Promise<void> {
    if (ms <= 0) return
    await new Promise<void>((resolve) => { this.sleepers.push({ wakeAt: this.current + ms, resolve }) })
  }

  /** Sleepers still waiting, e.g. to check that a loop is parked before advancing. */
  get pendingSleeps (): number {
    return this.sleepers.length
  }

  /**
   * Moves time forward by `ms`, waking sleepers in wake-time order, each with now() at its own wake
   * time, and lets the microtasks they schedule run before the next one wakes.
   */
  async advance (ms: number): Promise<void> {
    const target = this.current + ms
    for (;;) {
      const next = this.sleepers.filter((s) => s.wakeAt <= target).sort((a, b) => a.wakeAt - b.wakeAt)[0]
      if (next === undefined) break
      this.sleepers = this.sleepers.filter((s) => s !== next)
      this.current = next.wakeAt
      next.resolve()
      await flushMicrotasks()
    }
    this.current = target
    await flushMicrotasks()
  }
}

async function flushMicrotasks (): Promise<void> {
  // setImmediate runs after every queued promise reaction, so woken code reaches its next await.
  await new Promise<void>((resolve) => setImmediate(resolve))
}
