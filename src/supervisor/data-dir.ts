import { existsSync, readFileSync } from 'node:fs'
import { chmod, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const PREFIX = 'outgrow-'
const OWNER_FILE = 'supervisor.pid'

/** Whether a process with this pid exists (EPERM: it does, owned by someone else). */
export function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM'
  }
}

/** Temporary data dirs of stacks whose supervisor died without cleaning up (e.g. SIGKILL). */
async function sweepOrphans (): Promise<void> {
  for (const name of await readdir(tmpdir())) {
    if (!name.startsWith(PREFIX)) continue
    const ownerFile = join(tmpdir(), name, OWNER_FILE)
    if (!existsSync(ownerFile)) continue
    const pid = Number(readFileSync(ownerFile, 'utf8'))
    if (Number.isInteger(pid) && pid > 0 && !alive(pid)) await rm(join(tmpdir(), name), { recursive: true, force: true })
  }
}

/** A fresh temporary data dir that PostgreSQL's OS user can traverse, owned by this process. */
export async function createTemporaryDataDir (): Promise<string> {
  await sweepOrphans().catch(() => {})
  const dir = await mkdtemp(join(tmpdir(), PREFIX))
  await chmod(dir, 0o755)
  await writeFile(join(dir, OWNER_FILE), String(process.pid))
  return dir
}
