import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { CLI } from '../helpers/cli.js'

/** Pids of the processes whose command line mentions `text` (the stack's PostgreSQL names its data dir). */
async function processesMentioning (text: string): Promise<number[]> {
  const found: number[] = []
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const cmdline = await readFile(join('/proc', entry, 'cmdline'), 'utf8').catch(() => '')
    if (cmdline.includes(text)) found.push(Number(entry))
  }
  return found
}

/** Runs a level-1 bench with its temporary files under a dir of its own; `when` says when to send SIGTERM. */
async function interruptedBench (when: (stderr: string, temp: string) => Promise<boolean>): Promise<void> {
  // The bench's stack makes its temporary data dir here, so the test can see what is left behind.
  const temp = await mkdtemp(join(tmpdir(), 'outgrow-bench-signal-'))
  await chmod(temp, 0o755)
  try {
    const child = spawn(process.execPath, [CLI, 'bench', '--levels', '1', '--rate', '20', '--duration', '120', '--warmup', '0',
      '--products', '300', '--users', '2', '--emulation', 'none', '--out', join(temp, 'report')], {
      cwd: temp, env: { ...process.env, TMPDIR: temp }, stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => { resolve(code) }))
    let ready = false
    const deadline = Date.now() + 120_000
    while (!ready && Date.now() < deadline && child.exitCode === null) {
      ready = await when(stderr, temp)
      if (!ready) await new Promise((resolve) => setTimeout(resolve, 50))
    }
    assert.ok(ready, `the moment to interrupt never came; stderr:\n${stderr}`)

    child.kill('SIGTERM')
    assert.equal(await exited, 143, stderr)
    assert.match(stderr, /SIGTERM: stopping 1 stack\(s\) before exiting/)
    assert.deepEqual(await processesMentioning(temp), [], 'no process of the stack is left')
    const left = (await readdir(temp)).filter((name) => name !== 'report')
    assert.deepEqual(left, [], 'the stack\'s temporary data dir is removed')
  } finally {
    await rm(temp, { recursive: true, force: true })
  }
}

test('SIGTERM during a bench\'s measured run stops its stack in order, removes its data, and exits 143', async () => {
  await interruptedBench(async (stderr) => /offered \d+\/s/.test(stderr))
})

test('SIGTERM while the bench\'s stack is still starting stops what has started and removes its data', async () => {
  // PostgreSQL's initdb or server is running in the data dir: the start is under way, not done.
  await interruptedBench(async (stderr, temp) => !/offered/.test(stderr) && (await processesMentioning(join(temp, 'outgrow-'))).length > 0)
})
