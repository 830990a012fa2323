import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { after, before, describe, it } from 'node:test'
import { startControlApi, type ControlApi } from '../../src/control/api.js'
import { ControlClient } from '../../src/control/client.js'
import { createControlToken, writeControlEndpoint } from '../../src/control/control-files.js'
import { parseDuration } from '../../src/control/jobs-routes.js'
import type { Stack } from '../../src/control/stack.js'
import { StackJobs } from '../../src/control/stack-jobs.js'
import { BullMqQueue } from '../../src/jobs/bullmq-queue.js'
import type { Ports } from '../../src/runtime/ports.js'
import { CLI, cliOutput } from '../helpers/cli.js'
import { redisPerFile } from '../helpers/engines.js'

const quietLog = { info () {}, warn () {}, error () {} }
const redis = redisPerFile()

/** A control API over the stack's job queues on a data dir, as `outgrow up` serves it. */
async function controlFor (jobs: StackJobs): Promise<{ dataDir: string, api: ControlApi }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'outgrow-jobs-cli-'))
  // The jobs routes use only the stack's job queues.
  const api = await startControlApi({ stack: { jobs } as unknown as Stack, token: await createControlToken(dataDir) })
  await writeControlEndpoint(dataDir, api.url)
  return { dataDir, api }
}

async function cliError (args: string[]): Promise<string> {
  const result = await promisify(execFile)(process.execPath, [CLI, ...args], { encoding: 'utf8' }).then(() => undefined, (err: { stderr: string }) => err.stderr)
  assert.notEqual(result, undefined, `outgrow ${args.join(' ')} succeeded`)
  return result as string
}

describe('outgrow jobs: dead letters through the control API', () => {
  let url = ''
  let worker: BullMqQueue
  let stackJobs: StackJobs
  let control: { dataDir: string, api: ControlApi }
  let broken = true
  const done: unknown[] = []

  before(async () => {
    url = await redis.ready
    worker = new BullMqQueue(url, 'shop-jobs', 2)
    await worker.process({ send: async (payload) => {
      if (broken) throw new Error('mail server refused')
      done.push(payload)
    } }, { jobs: worker, log: quietLog } as unknown as Ports)
    stackJobs = new StackJobs(() => url, () => ['shop-jobs'])
    control = await controlFor(stackJobs)
  })
  after(async () => {
    await control.api.close()
    await stackJobs.close()
    await worker.close()
    await rm(control.dataDir, { recursive: true, force: true })
  })

  it('lists, retries and purges dead letters; stats show them; unknown ids and queues are refused', async () => {
    const dir = ['--data-dir', control.dataDir]
    await worker.enqueue('send', { to: 'a' }, { jobId: 'mail-a', attempts: 2, backoff: { delayMs: 10 } })
    await worker.enqueue('send', { to: 'b' }, { jobId: 'mail-b', attempts: 1 })
    const deadline = Date.now() + 10_000
    while ((await worker.failed()).length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))

    const listed = JSON.parse(await cliOutput(['jobs', 'failed', '--json', ...dir], process.cwd())) as Array<{ id: string, attempts: number, error: string, queue: string }>
    assert.deepEqual(listed.map((d) => d.id).sort(), ['mail-a', 'mail-b'])
    assert.equal(listed.find((d) => d.id === 'mail-a')?.attempts, 2)
    assert.equal(listed[0]?.error, 'mail server refused')
    assert.equal(listed[0]?.queue, 'shop-jobs')
    assert.match(await cliOutput(['jobs', 'stats', ...dir], process.cwd()), /shop-jobs\s+0\s+0\s+0\s+2\s+/)

    // Each CLI run costs a Node start: the rest of the refusals go to the control API directly.
    assert.match(await cliError(['jobs', 'retry', 'no-such-job', ...dir]), /OUTGROW_NOT_FOUND: no dead letter no-such-job/)
    const api = ControlClient.forDataDir(control.dataDir)
    await assert.rejects(api.call('GET', '/v1/jobs/failed?queue=nope'), { code: 'OUTGROW_NOT_FOUND', message: /no job queue nope/ })
    await assert.rejects(api.call('POST', '/v1/jobs/retry', { id: 'mail-a', all: true }), { code: 'OUTGROW_BAD_REQUEST' })
    await assert.rejects(api.call('POST', '/v1/jobs/purge', { olderThanMs: -1 }), { code: 'OUTGROW_BAD_REQUEST' })
    assert.throws(() => parseDuration('soon'), { code: 'OUTGROW_VALIDATION' })
    assert.equal(parseDuration('90m'), 90 * 60_000)
    assert.equal((await worker.failed()).length, 2, 'a refused command changed nothing')

    broken = false
    assert.match(await cliOutput(['jobs', 'retry', 'mail-a', ...dir], process.cwd()), /retried mail-a \(queue shop-jobs\)/)
    while (done.length < 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
    assert.deepEqual(done, [{ to: 'a' }])
    assert.deepEqual(await api.call('POST', '/v1/jobs/purge', { olderThanMs: 3_600_000 }), { purged: 0 })
    const text = await cliOutput(['jobs', 'failed', ...dir], process.cwd())
    assert.match(text, /^ID\s+NAME\s+QUEUE\s+FAILED AT\s+ATTEMPTS\s+ERROR/)
    assert.match(text, /mail-b\s+send\s+shop-jobs\s+\S+\s+1\s+mail server refused/)
    assert.match(await cliOutput(['jobs', 'purge', '--older-than', '0s', ...dir], process.cwd()), /purged 1 dead letter$/m)
    assert.deepEqual(await api.call('GET', '/v1/jobs/failed'), { deadLetters: [] })
  })

  it('a stack whose jobs run in its app instances says so', async () => {
    const inProcess = new StackJobs(() => undefined, () => [])
    const other = await controlFor(inProcess)
    try {
      await assert.rejects(ControlClient.forDataDir(other.dataDir).call('GET', '/v1/jobs/stats'), { code: 'OUTGROW_JOB_QUEUE_UNAVAILABLE', message: /this stack runs its jobs inside the app instances/ })
    } finally {
      await other.api.close()
      await rm(other.dataDir, { recursive: true, force: true })
    }
  })
})
