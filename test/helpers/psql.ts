import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { postgresBinDir } from '../../src/supervisor/engines/binaries.js'

const run = promisify(execFile)

/** Runs one SQL command with the real psql binary (found beside the server binaries), as an operator would. */
export async function psql (url: string, sql: string): Promise<string> {
  const { stdout } = await run(join(postgresBinDir(), 'psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', sql])
  return stdout
}
