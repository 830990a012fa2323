import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { promisify } from 'node:util'
import type { ChaosReport } from '../../src/lab/chaos/run.js'
import { freePort } from '../../src/supervisor/free-port.js'
import { CLI, cliOutput, isAlive, startCli, stopCli, type RunningCli } from '../helpers/cli.js'

let cwd: string
let cli: RunningCli

before(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'outgrow-e2e-'))
  await chmod(cwd, 0o755)
  cli = await startCli(['up', '--level', '4', '--port', String(await freePort()), '--products', '500', '--users', '30', '--cpus', '1'], cwd)
})

after(async () => {
  await stopCli(cli)
  await rm(cwd, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 })
})

async function chaos (scenario: string): Promise<ChaosReport> {
  return JSON.parse(await cliOutput(['chaos', scenario, '--duration', '8', '--json'], cwd)) as ChaosReport
}

/** What every short run against level 4 must show: orders went through the fault, and none was lost or placed twice. */
function assertSafe (report: ChaosReport): void {
  const v = report.verdict
  assert.equal(v.lost, 0, `lost: ${v.examples.lost.join(', ')}`)
  assert.equal(v.duplicates, 0, `duplicates: ${v.examples.duplicates.join(', ')}`)
  assert.equal(v.twoPrimaryInstants, 0)
  assert.equal(v.safe, true)
  assert.ok(v.orders.acknowledged > 10, `orders were acknowledged (${v.orders.acknowledged})`)
  assert.ok(v.writesRecoveredAfterMs !== null, 'writes were acknowledged after the fault')
  assert.ok(v.probeRounds > 10, `the primary was probed through the run (${v.probeRounds} rounds)`)
  // With or without HA, the final check ran on a PostgreSQL node of the stack.
  assert.match(report.checkedOn, /^postgres-/)
}

test('a scenario whose target the stack lacks is refused with a coded error, before any load', async () => {
  // Level 1 (app and PostgreSQL on one server) has no Redis and no worker at any release.
  const dir = await mkdtemp(join(tmpdir(), 'outgrow-e2e-'))
  await chmod(dir, 0o755)
  const small = await startCli(['up', '--level', '1', '--port', String(await freePort()), '--products', '50', '--users', '5'], dir)
  try {
    for (const [scenario, missing] of [['kill-redis', /the stack has no Redis/], ['kill-worker', /the stack has no job worker/]] as const) {
      const failed = await promisify(execFile)(process.execPath, [CLI, 'chaos', scenario], { cwd: dir, encoding: 'utf8' }).then(() => undefined, (err: { code: number, stderr: string }) => err)
      assert.ok(failed !== undefined, `${scenario} failed`)
      assert.equal(failed.code, 1)
      assert.match(failed.stderr, new RegExp(`^OUTGROW_CHAOS_NO_TARGET: ${scenario}: ${missing.source}`, 'm'))
      assert.doesNotMatch(failed.stderr, /logging in/, 'no load was sent')
    }
  } finally {
    await cliOutput(['down'], dir).catch(() => { small.child.kill('SIGKILL') })
    await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 })
  }
})

test('kill-instance under the checker workload: 0 acknowledged orders lost, 0 duplicates, and the ack log kept', async () => {
  const report = await chaos('kill-instance')
  assertSafe(report)
  assert.match(report.fault.target, /^app-\d+$/)
  assert.ok(report.fault.pids.every((pid) => !isAlive(pid)), 'the instance was killed')
  const acked = (await readFile(report.ackLog as string, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { key: string, orderId: number })
  assert.equal(acked.length, report.verdict.orders.acknowledged)
  assert.ok(acked.every((a) => a.key.startsWith('chaos-') && Number.isInteger(a.orderId)))
})

test('kill-worker under the checker workload: 0 acknowledged orders lost, 0 duplicates', async () => {
  const report = await chaos('kill-worker')
  assertSafe(report)
  assert.equal(report.fault.target, 'worker-1')
  assert.ok(report.fault.pids.every((pid) => !isAlive(pid)), 'the worker was killed')
})
