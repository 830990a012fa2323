import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, rmdirSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { createEmulation } from '../../src/supervisor/emulation.js'
import { sleep } from '../helpers/wait.js'

test('a cgroup-emulated server\'s CPU: usage against its quota, throttled periods, and groups removed on cleanup', async () => {
  const stackId = `test-${process.pid}`
  const emulation = createEmulation('cgroup', stackId, 0.2)
  assert.equal(emulation.mode, 'cgroup', `this test needs a writable cgroup v1 cpu controller at /sys/fs/cgroup/cpu (run as root): ${emulation.describe()}`)
  const busy = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' })
  try {
    assert.ok(busy.pid !== undefined)
    emulation.place('busy', busy.pid)
    const separateAcct = !existsSync('/sys/fs/cgroup/cpu/cpuacct.usage') && existsSync('/sys/fs/cgroup/cpuacct/cpuacct.usage')
    if (separateAcct) assert.ok(existsSync(join('/sys/fs/cgroup/cpuacct/outgrow', stackId, 'busy', 'cpuacct.usage')), 'a cpuacct group beside the cpu group')
    const before = emulation.serverCpu('busy')
    await sleep(1500)
    const after = emulation.serverCpu('busy')
    assert.ok(before !== undefined && after !== undefined)
    assert.equal(after.source, 'cgroup')
    assert.ok(Math.abs(after.quotaCores - 0.2) < 1e-9)
    const usedCores = (after.usageNs - before.usageNs) / 1e9 / 1.5
    // A busy loop takes its whole quota and no more (the quota binds per 100 ms period).
    assert.ok(usedCores > 0.12 && usedCores < 0.26, `used ${usedCores} cores of a 0.2-core quota`)
    assert.ok((after.throttling?.throttledPeriods ?? 0) - (before.throttling?.throttledPeriods ?? 0) >= 10, JSON.stringify({ before, after }))
    assert.equal(emulation.serverCpu('never-placed'), undefined)
  } finally {
    const exited = busy.exitCode !== null || busy.signalCode !== null ? Promise.resolve() : new Promise((resolve) => { busy.once('exit', resolve) })
    busy.kill('SIGKILL')
    await exited
    // No pause after the exit: cleanup waits for a group that is still busy for a moment.
    assert.deepEqual(await emulation.cleanup(), [], 'nothing left to kill')
  }
  assert.ok(!existsSync(join('/sys/fs/cgroup/cpu/outgrow', stackId)), 'cpu group removed')
  assert.ok(!existsSync(join('/sys/fs/cgroup/cpuacct/outgrow', stackId)), 'cpuacct group removed')
})

const exitOf = async (child: ChildProcess): Promise<{ code: number | null, signal: NodeJS.Signals | null }> => await new Promise((resolve) => {
  if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode })
  else child.once('exit', (code, signal) => { resolve({ code, signal }) })
})

test('cleanup waits for a server\'s process that is still exiting, and kills one left behind, so no group outlives the stack', async () => {
  const stackId = `test-left-${process.pid}`
  const emulation = createEmulation('cgroup', stackId, 0.5)
  assert.equal(emulation.mode, 'cgroup', `this test needs a writable cgroup v1 cpu controller at /sys/fs/cgroup/cpu (run as root): ${emulation.describe()}`)
  const exiting = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 400)'], { stdio: 'ignore' })
  const orphan = spawn('sleep', ['60'], { stdio: 'ignore' })
  try {
    assert.ok(exiting.pid !== undefined && orphan.pid !== undefined)
    emulation.place('app-1', exiting.pid)
    emulation.place('db-primary', orphan.pid)
    const killed = await emulation.cleanup({ graceMs: 1500 })
    assert.deepEqual(killed, [orphan.pid], 'only the process that stayed past the grace is killed')
    assert.deepEqual(await exitOf(exiting), { code: 0, signal: null }, 'the exiting process ended on its own')
    assert.equal((await exitOf(orphan)).signal, 'SIGKILL')
  } finally {
    orphan.kill('SIGKILL')
  }
  assert.ok(!existsSync(join('/sys/fs/cgroup/cpu/outgrow', stackId)), 'cpu groups removed')
  assert.ok(!existsSync(join('/sys/fs/cgroup/cpuacct/outgrow', stackId)), 'cpuacct groups removed')
})

test('a new stack sweeps the empty groups of stacks whose supervisor is gone, never those of a running one', async () => {
  const running = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' })
  const gone = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
  await new Promise((resolve) => { gone.once('exit', resolve) })
  const root = '/sys/fs/cgroup/cpu/outgrow'
  // A live stack's server between two processes has an empty group for a moment.
  const live = join(root, `${String(running.pid)}-aaaaaa`, 'app-1')
  const stale = join(root, `${String(gone.pid)}-bbbbbb`, 'app-1')
  mkdirSync(live, { recursive: true })
  mkdirSync(stale, { recursive: true })
  try {
    const emulation = createEmulation('cgroup', `test-sweep-${process.pid}`, 0.5)
    assert.equal(emulation.mode, 'cgroup')
    assert.ok(existsSync(live), 'the running stack\'s empty group is kept')
    assert.ok(!existsSync(join(root, `${String(gone.pid)}-bbbbbb`)), 'the gone stack\'s groups are removed')
    await emulation.cleanup()
  } finally {
    running.kill('SIGKILL')
    for (const dir of [live, join(live, '..'), stale, join(stale, '..')]) try { rmdirSync(dir) } catch {}
  }
})
