import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { promisify } from 'node:util'
import { readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const CLI = fileURLToPath(new URL('../../../bin/outgrow.js', import.meta.url))

export interface ReadyLine {
  ready: boolean
  url: string
  level: number
  processes: Array<{ name: string, pid: number, url?: string }>
}

export interface RunningCli {
  readonly child: ChildProcess
  readonly ready: ReadyLine
  stderr(): string
  /** Everything printed on stdout so far (the ready line, and what follows it). */
  stdout(): string
}

/** Runs `outgrow up …` like a user and waits for its ready line on stdout. */
export async function startCli (args: string[], cwd: string, timeoutMs = 120_000): Promise<RunningCli> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  let stdout = ''
  const ready = await new Promise<ReadyLine>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`not ready in time; stderr:\n${stderr}`)) }, timeoutMs)
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString()
      const line = stdout.split('\n').find((l) => l.startsWith('{'))
      if (line !== undefined) {
        clearTimeout(timer)
        resolve(JSON.parse(line) as ReadyLine)
      }
    })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`outgrow up exited with ${String(code)}; stderr:\n${stderr}`)) })
  })
  return { child, ready, stderr: () => stderr, stdout: () => stdout }
}

export function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  // A zombie has exited; only its parent has not collected it yet.
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

/** Live processes (not this one) whose working directory is in dir or whose command line names it. */
export function processesIn (dir: string): number[] {
  // /proc gives resolved paths, and the stack names its directory resolved too.
  const real = realpathSync(dir)
  const found: number[] = []
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry)
    if (!Number.isInteger(pid) || pid === process.pid) continue
    try {
      const cwd = readlinkSync(`/proc/${pid}/cwd`)
      const commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ')
      if ((cwd === real || cwd.startsWith(`${real}/`) || commandLine.includes(real)) && isAlive(pid)) found.push(pid)
    } catch {} // gone meanwhile, or not ours to read
  }
  return found
}

export async function waitFor (check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (check()) return true
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return check()
}

/** Runs a short CLI command (status, scale, events, …) and returns its stdout; rejects on a non-zero exit. */
export async function cliOutput (args: string[], cwd: string): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8' })
  return stdout
}

/**
 * Stops a stack started by startCli as a user would (SIGTERM: every process stopped in order) and
 * waits for it, so that no engine still writes into the directory a test removes next.
 */
export async function stopCli (cli: RunningCli, timeoutMs = 60_000): Promise<void> {
  if (cli.child.exitCode !== null || cli.child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => { cli.child.once('exit', () => { resolve() }) })
  cli.child.kill('SIGTERM')
  const timer = setTimeout(() => { cli.child.kill('SIGKILL') }, timeoutMs)
  await exited
  clearTimeout(timer)
}
