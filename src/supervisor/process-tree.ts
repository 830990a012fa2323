import { readdirSync, readFileSync } from 'node:fs'
import { parentPidOfStat } from './proc-stat.js'

/**
 * Processes as trees, from /proc: a unit's process and everything below it. PostgreSQL's children
 * call setsid() at fork, so a process group does not reach them; parent links do.
 */

/** pid → parent pid, for every process /proc shows. */
export function readParentTable (): Map<number, number> {
  const table = new Map<number, number>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      table.set(Number(entry), parentPidOfStat(readFileSync(`/proc/${entry}/stat`, 'utf8')))
    } catch {
      // Gone meanwhile.
    }
  }
  return table
}

/** root and all its descendants, root first, each before its children; the subtrees of spared pids left out. */
export function processTree (root: number, parents: ReadonlyMap<number, number>, spared: ReadonlySet<number> = new Set()): number[] {
  const children = new Map<number, number[]>()
  for (const [pid, ppid] of parents) {
    const list = children.get(ppid)
    if (list === undefined) children.set(ppid, [pid])
    else list.push(pid)
  }
  const tree: number[] = []
  const queue = [root]
  const seen = new Set<number>()
  while (queue.length > 0) {
    const pid = queue.shift() as number
    if (seen.has(pid) || spared.has(pid)) continue
    seen.add(pid)
    tree.push(pid)
    queue.push(...(children.get(pid) ?? []).sort((a, b) => a - b))
  }
  return tree
}

/** Everything below root (root excluded), read now. */
export function descendantsOf (root: number): number[] {
  return processTree(root, readParentTable()).slice(1)
}
