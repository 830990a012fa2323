import { createHash } from 'node:crypto'
import { statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { postgresRunAs } from './run-as.js'

/** Whether every directory from / down to dir lets other users through (o+x). */
function traversableByOthers (dir: string): boolean {
  for (let d = resolve(dir); ; d = dirname(d)) {
    try {
      if ((statSync(d).mode & 0o001) === 0) return false
    } catch {
      return false
    }
    if (d === dirname(d)) return true
  }
}

/**
 * Where a stack's PostgreSQL clusters live. PostgreSQL runs as its own OS user when we are root,
 * and it must reach its data dir: under a home dir that others cannot enter (mode 0700, as root's
 * is), the clusters go to /var/lib/outgrow/<hash of the stack's data dir> instead, so that the
 * same data dir always finds them again.
 */
export function postgresDataRoot (stackDataDir: string): string {
  const inside = join(stackDataDir, 'data')
  if (postgresRunAs() === undefined || traversableByOthers(stackDataDir)) return inside
  return join('/var/lib/outgrow', createHash('sha256').update(resolve(stackDataDir)).digest('hex').slice(0, 16))
}
