/**
 * pg_stat_statements in every PostgreSQL a stack runs: per-statement execution statistics, which
 * the lab reads at the knee of a capacity search (lab/pg-statements.ts). The library must be
 * preloaded at server start, so it goes on the command line of every server (primary, replica,
 * HA node); the extension's view is created in the app's database on the primary, and replicas
 * get it by replication.
 */
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'

const LIBRARY = 'pg_stat_statements'
const availableIn = new Map<string, boolean>()

function pkglibdir (binDir: string): string {
  try {
    return execFileSync(join(binDir, 'pg_config'), ['--pkglibdir'], { encoding: 'utf8' }).trim()
  } catch {
    // No pg_config next to the server: the usual layout puts libraries beside bin/.
    return join(binDir, '..', 'lib')
  }
}

/**
 * Whether the PostgreSQL installation in binDir ships the library (Debian's postgresql-NN does;
 * a build without contrib does not). Without it the server must not be told to preload it, or it
 * would not start: a stack then runs without statement statistics.
 */
export function statementStatsAvailable (binDir: string): boolean {
  let known = availableIn.get(binDir)
  if (known === undefined) {
    known = existsSync(join(pkglibdir(binDir), `${LIBRARY}.so`))
    availableIn.set(binDir, known)
  }
  return known
}

/** `-c` settings that load pg_stat_statements; top-level statements only, so nothing counts twice. */
export function statementStatsSettings (binDir: string): Record<string, string> {
  return statementStatsAvailable(binDir) ? { shared_preload_libraries: LIBRARY, 'pg_stat_statements.track': 'top' } : {}
}

/** Creates the extension in the database at url (a primary); false when the library is not installed. */
export async function createStatementStatsExtension (url: string, binDir: string): Promise<boolean> {
  if (!statementStatsAvailable(binDir)) return false
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(`CREATE EXTENSION IF NOT EXISTS ${LIBRARY}`)
    return true
  } finally {
    await client.end()
  }
}
