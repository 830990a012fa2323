import { execFileSync } from 'node:child_process'
import { OutgrowError } from '../../errors/index.js'
import type { RunAs } from '../managed-process.js'

/**
 * PostgreSQL and PgBouncer refuse to run as root. When we are root, their binaries run as the
 * `postgres` OS user (or OUTGROW_PG_USER); otherwise as ourselves.
 */
export function postgresRunAs (): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined
  const user = process.env.OUTGROW_PG_USER ?? 'postgres'
  try {
    const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim())
    const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim())
    return { uid, gid }
  } catch {
    throw new OutgrowError('OUTGROW_ENGINE_MISSING', `running as root, PostgreSQL and PgBouncer need an unprivileged OS user '${user}': useradd --system ${user} (or set OUTGROW_PG_USER)`)
  }
}
