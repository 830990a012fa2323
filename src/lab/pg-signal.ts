/**
 * Signals to a whole PostgreSQL server, for fault injection: the postmaster and every process it
 * forked (backends, walsenders, checkpointer…). Signalling the postmaster's process group is not
 * enough: each child calls setsid() at fork, so a SIGSTOP of the group freezes the postmaster alone
 * while its backends go on committing on open connections.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { descendantsOf } from '../supervisor/process-tree.js'

/** The postmaster's pid from postmaster.pid in dataDir, if the server runs. */
export function postmasterPid (dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0])
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

const send = (pid: number, signal: NodeJS.Signals): void => { try { process.kill(pid, signal) } catch { /* already gone */ } }

/** Per data dir, the processes a SIGSTOP froze: a SIGCONT must reach them even if orphaned since. */
const frozen = new Map<string, Set<number>>()

/**
 * Sends signal to the postmaster of dataDir, then to its descendants. The postmaster goes first,
 * so that a stopped or killed one forks no new child meanwhile; the children are listed twice to
 * catch one forked while the first list was read. A SIGCONT also reaches every process the last
 * SIGSTOP froze: if something killed the frozen postmaster meanwhile (Outgrow's fence keeper does),
 * its stopped children now belong to init, and a real node's thaw would wake them all the same.
 */
export function signalPostgres (dataDir: string, signal: NodeJS.Signals): void {
  const done = new Set<number>()
  if (signal === 'SIGCONT') {
    for (const pid of frozen.get(dataDir) ?? []) send(pid, signal)
    frozen.delete(dataDir)
  }
  const pid = postmasterPid(dataDir)
  if (pid !== undefined) {
    send(pid, signal)
    done.add(pid)
    for (let round = 0; round < 2; round++) {
      for (const child of descendantsOf(pid)) {
        if (done.has(child)) continue
        done.add(child)
        send(child, signal)
      }
    }
  }
  if (signal === 'SIGSTOP') frozen.set(dataDir, new Set([...frozen.get(dataDir) ?? [], ...done]))
}
