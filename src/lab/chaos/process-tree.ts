import { OutgrowError } from '../../errors/index.js'
import { processTree, readParentTable } from '../../supervisor/process-tree.js'

/**
 * A node of the stack as a whole process tree: a unit's process and everything below it (a
 * PostgreSQL postmaster and its backends, an HA agent with its postmaster and fence keeper).
 * Killing or freezing only the unit's own pid would leave the rest of the node running.
 */

/** Sends signal to every pid; a process gone meanwhile is skipped. Returns the pids it reached. */
export function signalAll (pids: readonly number[], signal: NodeJS.Signals): number[] {
  const reached: number[] = []
  for (const pid of pids) {
    try {
      process.kill(pid, signal)
      reached.push(pid)
    } catch (err) {
      const code = (err as { code?: string }).code
      if (code === 'ESRCH') continue
      throw new OutgrowError('OUTGROW_CHAOS_FAULT_FAILED', `could not send ${signal} to pid ${pid}: ${(err as Error).message}`, { pid, signal })
    }
  }
  return reached
}

/** SIGKILL of a whole tree, listed before the first signal so no child escapes as an orphan. */
export function killTree (root: number): number[] {
  return signalAll(processTree(root, readParentTable()), 'SIGKILL')
}

/**
 * SIGSTOP of a whole tree: stopped from the root down, then the table is read again until no new
 * child appeared (a process forked between the reads is stopped too). Returns what was stopped.
 */
export function stopTree (root: number, spared: ReadonlySet<number> = new Set()): number[] {
  const stopped = new Set<number>()
  try {
    for (let pass = 0; pass < 5; pass++) {
      const fresh = processTree(root, readParentTable(), spared).filter((pid) => !stopped.has(pid))
      if (fresh.length === 0) break
      for (const pid of fresh) {
        for (const reached of signalAll([pid], 'SIGSTOP')) stopped.add(reached)
      }
    }
  } catch (err) {
    // Half a frozen node is no fault anyone asked for: what was stopped runs again.
    signalAll([...stopped], 'SIGCONT')
    throw err
  }
  return [...stopped]
}
