/**
 * The fence keeper: a small process of its own, next to the agent, that owns PostgreSQL's read-only
 * switch. The agent asks it to fence, to unfence until a deadline, or to move the deadline; it
 * carries the requests out one at a time, and when the deadline passes it fences by itself — even
 * if the agent is frozen (SIGSTOP) or dead (its IPC channel closes: fence at once, then exit).
 * If a fence it applies on its own does not take effect within fenceTimeoutMs (PostgreSQL frozen or
 * hung), it kills PostgreSQL, the postmaster and every process it forked: Patroni's watchdog, without resetting the machine.
 *
 * Configuration: OUTGROW_FENCE_KEEPER = { url, fenceTimeoutMs } (JSON).
 */
import { descendantsOf } from '../supervisor/process-tree.js'
import { applyFence, applyUnfence } from './pg-sql.js'
import type { KeeperReply, KeeperRequest } from './fence-keeper.js'

const { url, fenceTimeoutMs } = JSON.parse(process.env.OUTGROW_FENCE_KEEPER ?? '{}') as { url: string, fenceTimeoutMs: number }
/** The PostgreSQL request timeout for the agent's own requests (unfence and its explicit fences). */
const REQUEST_TIMEOUT_MS = Math.max(1000, fenceTimeoutMs)

let writableUntil = -Infinity
/** When the deadline was last moved (unfence or extend): with the timer's own lateness, it says who stalled. */
let movedAt = -Infinity
let timer: NodeJS.Timeout | undefined
let postmasterPid: number | undefined
let queue: Promise<unknown> = Promise.resolve()

const log = (message: string): void => { process.stderr.write(`${new Date().toISOString()} fence keeper: ${message}\n`) }

function serially<T> (work: () => Promise<T>): Promise<T> {
  const next = queue.then(work, work)
  queue = next.catch(() => {})
  return next
}

function arm (): void {
  clearTimeout(timer)
  if (writableUntil === -Infinity) return
  const deadline = writableUntil
  timer = setTimeout(() => {
    // Late by much: this process did not run (CPU, a frozen machine). Moved long before the
    // deadline: the agent's renewals stopped arriving (its stall, or the DCS's).
    const why = `the writable deadline passed (noticed ${Date.now() - deadline} ms after it; the deadline was last moved ${deadline - movedAt} ms before it)`
    void serially(async () => { await fenceOnOwn(why) })
  }, Math.max(0, writableUntil - Date.now()))
}

/** A fence nobody is waiting for: it must land, or PostgreSQL goes. */
async function fenceOnOwn (why: string): Promise<void> {
  writableUntil = -Infinity
  arm()
  try {
    await applyFence(url, fenceTimeoutMs)
    log(`fenced: ${why}`)
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    if (/ECONNREFUSED|ENOENT/.test(message)) { log(`${why}; PostgreSQL is not running`); return }
    if (postmasterPid === undefined) { log(`${why}; fence failed (${message}) and no postmaster to kill`); return }
    try {
      // The postmaster and every process it forked: each child calls setsid(), so the postmaster's
      // process group alone would leave backends committing on open connections.
      const server = [postmasterPid, ...descendantsOf(postmasterPid)]
      process.kill(postmasterPid, 'SIGKILL')
      for (const pid of server.slice(1)) { try { process.kill(pid, 'SIGKILL') } catch { /* gone with the postmaster */ } }
      log(`${why}; fence did not land within ${fenceTimeoutMs} ms (${message}): killed PostgreSQL (${server.length} processes from ${postmasterPid})`)
    } catch (killErr) {
      log(`${why}; fence failed (${message}) and kill failed (${String(killErr)})`)
    }
  }
}

async function handle (request: KeeperRequest): Promise<boolean> {
  switch (request.op) {
    case 'postmaster': postmasterPid = request.pid; return true
    case 'fence':
      writableUntil = -Infinity
      arm()
      await applyFence(url, REQUEST_TIMEOUT_MS)
      return true
    case 'unfence':
      if (Date.now() >= request.until) return false
      await applyUnfence(url, REQUEST_TIMEOUT_MS)
      writableUntil = request.until
      movedAt = Date.now()
      arm()
      return true
    case 'extend':
      if (writableUntil === -Infinity) return false
      writableUntil = Math.max(writableUntil, request.until)
      movedAt = Date.now()
      arm()
      return true
  }
}

process.on('message', (message: KeeperRequest) => {
  void serially(async () => await handle(message)).then(
    (ok) => { process.send?.({ id: message.id, ok } satisfies KeeperReply) },
    (err: unknown) => { process.send?.({ id: message.id, ok: false, error: err instanceof Error ? err.message : String(err) } satisfies KeeperReply) },
  )
})

process.once('disconnect', () => {
  void serially(async () => { await fenceOnOwn('the agent is gone') }).finally(() => { process.exit(0) })
})
process.once('SIGTERM', () => {
  void serially(async () => { await fenceOnOwn('stopping') }).finally(() => { process.exit(0) })
})
process.send?.({ id: 0, ok: true } satisfies KeeperReply)
