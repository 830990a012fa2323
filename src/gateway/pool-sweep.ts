/** What the sweep visits: a pool that checks its connections' deadlines. */
export interface Swept {
  sweep(now: number): void
}

/** Deadlines (header, body, idle) are checked this often by one sweep for all pools, not a timer per request. */
const SWEEP_MS = 50

const livePools = new Set<Swept>()
let sweeper: NodeJS.Timeout | undefined

export function watch (pool: Swept): void {
  livePools.add(pool)
  if (sweeper !== undefined) return
  let last = Date.now()
  sweeper = setInterval(() => {
    const now = Date.now()
    const late = now - last > SWEEP_MS * 3
    last = now
    // After a stall of the event loop (GC, a busy machine) answers may already wait in socket
    // buffers: let those reads run (setImmediate comes after the poll phase) before expiring anything.
    if (late) setImmediate(() => { for (const p of livePools) p.sweep(now) })
    else for (const p of livePools) p.sweep(now)
  }, SWEEP_MS)
  sweeper.unref()
}

export function unwatch (pool: Swept): void {
  livePools.delete(pool)
  if (livePools.size > 0 || sweeper === undefined) return
  clearInterval(sweeper)
  sweeper = undefined
}
