import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { residentRole, serverCpuBetween, startCpuWindow } from '../../src/lab/cpu-window.js'
import { createEmulation } from '../../src/supervisor/emulation.js'
import { machineCpuTicksOfStat } from '../../src/supervisor/proc-stat.js'
import { cpuTicksWithReapedChildren, parseCpuStat, processTreesCpuNs, quotaCoresOf, readCgroupCpu } from '../../src/supervisor/server-cpu.js'

test('cpu.stat: periods, throttled periods and throttled time', () => {
  assert.deepEqual(parseCpuStat('nr_periods 120\nnr_throttled 97\nthrottled_time 4513000000\nnr_bursts 0\nburst_time 0\n'), { periods: 120, throttledPeriods: 97, throttledNs: 4_513_000_000 })
  assert.throws(() => parseCpuStat('nr_periods 1\n'), /nr_throttled/)
})

test('a CFS quota in cores; -1 is no limit', () => {
  assert.equal(quotaCoresOf(5000, 100_000), 0.05)
  assert.equal(quotaCoresOf(-1, 100_000), undefined)
})

test('/proc/<pid>/stat: own and reaped children\'s CPU ticks; /proc/stat: the machine busy and in all', () => {
  // pid (comm with spaces) state ppid … utime=14th stime=15th cutime=16th cstime=17th
  const stat = '42 (postgres: a b) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 30 20 20 0 1 0 100 0 0'
  assert.equal(cpuTicksWithReapedChildren(stat), 350)
  assert.deepEqual(machineCpuTicksOfStat('cpu  100 5 50 800 20 3 2 10 0 0\ncpu0 50 2 25 400 10 1 1 5 0 0\n'), { busy: 170, total: 990, steal: 10 })
})

test('a cgroup\'s usage from cpuacct.usage beside cpu, or in the separate cpuacct group', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'outgrow-cgroup-'))
  try {
    const cpu = join(dir, 'cpu')
    const acct = join(dir, 'cpuacct')
    await mkdir(cpu)
    await mkdir(acct)
    await writeFile(join(cpu, 'cpu.cfs_quota_us'), '5000\n')
    await writeFile(join(cpu, 'cpu.cfs_period_us'), '100000\n')
    await writeFile(join(cpu, 'cpu.stat'), 'nr_periods 10\nnr_throttled 9\nthrottled_time 700000000\n')
    await writeFile(join(acct, 'cpuacct.usage'), '400000000\n')
    assert.deepEqual(readCgroupCpu(cpu, acct, 2), { usageNs: 400_000_000, quotaCores: 0.05, throttling: { periods: 10, throttledPeriods: 9, throttledNs: 700_000_000 }, source: 'cgroup' })
    await writeFile(join(cpu, 'cpuacct.usage'), '123\n')
    assert.equal(readCgroupCpu(cpu, undefined, 2)?.usageNs, 123)
    await writeFile(join(cpu, 'cpu.cfs_quota_us'), '-1\n')
    assert.equal(readCgroupCpu(cpu, undefined, 2)?.quotaCores, 2, 'no quota: the machine')
    assert.equal(readCgroupCpu(join(dir, 'missing'), undefined, 2), undefined)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('use of the quota and throttled share between two readings', () => {
  const before = { usageNs: 1e9, quotaCores: 0.05, throttling: { periods: 100, throttledPeriods: 10, throttledNs: 0 }, source: 'cgroup' as const }
  const after = { usageNs: 1.4e9, quotaCores: 0.05, throttling: { periods: 180, throttledPeriods: 82, throttledNs: 5e9 }, source: 'cgroup' as const }
  const s = serverCpuBetween('app-1', [{ name: 'app-1', role: 'app' }], before, after, 8)
  assert.equal(s.usedCores, 0.05)
  assert.ok(Math.abs(s.utilization - 1) < 1e-9)
  assert.equal(s.throttledShare, 0.9)
  const proc = serverCpuBetween('app-1', [], { ...before, throttling: undefined, source: 'proc' }, { ...after, throttling: undefined, source: 'proc' }, 8)
  assert.equal(proc.throttledShare, undefined)
})

test('a PostgreSQL process is named primary or replica, from the HA store or its unit name', () => {
  assert.equal(residentRole({ name: 'postgres-primary', role: 'postgres', ha: undefined }), 'postgres primary')
  assert.equal(residentRole({ name: 'postgres-replica-2', role: 'postgres', ha: undefined }), 'postgres replica')
  assert.equal(residentRole({ name: 'postgres-1', role: 'postgres', ha: { role: 'leader', pids: {} } }), 'postgres primary')
  assert.equal(residentRole({ name: 'postgres-2', role: 'postgres', ha: { role: 'sync standby', pids: {} } }), 'postgres replica')
  assert.equal(residentRole({ name: 'postgres-2', role: 'postgres', ha: { role: 'none', pids: {} } }), 'postgres')
  assert.equal(residentRole({ name: 'gateway', role: 'gateway', ha: undefined }), 'gateway')
})

test('without cgroups, a server\'s CPU is its processes\' /proc times against the whole machine', async () => {
  const emulation = createEmulation('none', 'test', 0.5)
  assert.equal(emulation.serverCpu('app-1'), undefined, 'nothing placed yet')
  emulation.place('app-1', process.pid)
  const processes = [{ name: 'app-1', role: 'app' as const, server: 'app-1', pid: process.pid, state: 'ready' as const, restarts: 0 }]
  const window = startCpuWindow({ info: () => ({ processes }), serverCpu: (s) => emulation.serverCpu(s) })
  const until = Date.now() + 300
  while (Date.now() < until) { /* burn CPU on this process */ }
  const result = await window.finish()
  const app = result.servers[0]
  assert.equal(app?.source, 'proc')
  assert.equal(app?.throttledShare, undefined)
  assert.ok(app !== undefined && app.usedCores > 0.3, `the busy loop shows: ${JSON.stringify(result)}`)
  assert.ok(result.machine.busyCores >= app.usedCores * 0.8)
  assert.ok(processTreesCpuNs([process.pid]) > 0)
})

test('on a server two processes share, the window splits its CPU between them; a server of one is not split', async () => {
  const processes = [
    { name: 'app-1', role: 'app' as const, server: 'server-1', pid: 101, state: 'ready' as const, restarts: 0 },
    { name: 'postgres-primary', role: 'postgres' as const, server: 'server-1', pid: 202, state: 'ready' as const, restarts: 0 },
    { name: 'redis', role: 'redis' as const, server: 'redis', pid: 303, state: 'ready' as const, restarts: 0 },
  ]
  const used = new Map([[101, 1e9], [202, 2e9], [303, 5e9]])
  const reads: number[][] = []
  const readProcessCpuNs = (pids: readonly number[]): number => { reads.push([...pids]); return pids.reduce((sum, pid) => sum + (used.get(pid) ?? 0), 0) }
  const total = { server: 0 }
  const serverCpu = (server: string) => ({ usageNs: server === 'server-1' ? total.server : 0, quotaCores: 0.25, throttling: undefined, source: 'cgroup' as const })
  let clock = 0
  const window = startCpuWindow({ info: () => ({ processes }), serverCpu }, () => clock, readProcessCpuNs)
  clock = 2000
  used.set(101, 1.1e9) // the app: 0.05 core over 2 s
  used.set(202, 2.3e9) // PostgreSQL: 0.15 core
  total.server = 0.4e9
  const result = await window.finish()
  const shared = result.servers.find((s) => s.server === 'server-1')
  assert.deepEqual(shared?.residents.map((r) => [r.name, Math.round((r.usedCores ?? -1) * 1000) / 1000]), [['app-1', 0.05], ['postgres-primary', 0.15]])
  assert.equal(result.servers.find((s) => s.server === 'redis')?.residents[0]?.usedCores, undefined)
  assert.ok(!reads.flat().includes(303), 'a process alone on its server is not read')
})
