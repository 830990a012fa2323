import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { JobIdRetention, JobQueue } from '../../src/jobs/queue.js'
import type { JobContext, Ports } from '../../src/runtime/ports.js'

const quietLog = { info () {}, warn () {}, error () {} }

function fakePorts (jobs: JobQueue): Ports {
  // Jobs under test use none of the other ports.
  return { db: undefined as never, cache: undefined as never, rateLimiter: undefined as never, notices: undefined as never, writeBehind: undefined as never, events: undefined as never, jobs, instanceId: 'test', adminToken: 'x'.repeat(8), log: quietLog }
}

async function eventually (check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/**
 * One behaviour for every job queue adapter. `createPeers` gives queues that share one backend
 * (a worker process each); an in-process queue has no peers and gives one.
 */
export function jobQueueConformance (name: string, create: (retention?: JobIdRetention) => Promise<JobQueue>, createPeers: (count: number) => Promise<JobQueue[]> = async () => [await create()]): void {
  describe(`job queue conformance: ${name}`, () => {
    it('runs enqueued jobs with their payload', async () => {
      const queue = await create()
      const seen: unknown[] = []
      await queue.process({ greet: async (payload) => { seen.push(payload) } }, fakePorts(queue))
      await queue.enqueue('greet', { to: 'a' })
      await queue.enqueue('greet', { to: 'b' })
      await eventually(() => seen.length === 2)
      assert.deepEqual(seen.map((p) => (p as { to: string }).to).sort(), ['a', 'b'])
      await queue.close()
    })

    it('retries a failing job until it succeeds', async () => {
      const queue = await create()
      let calls = 0
      await queue.process({ flaky: async (_payload, context) => {
        calls++
        if (context.attempt < 3) throw new Error('not yet')
      } }, fakePorts(queue))
      await queue.enqueue('flaky', null, { attempts: 3 })
      await eventually(() => calls === 3)
      await queue.close()
    })

    it('a job id makes enqueueing idempotent', async () => {
      const queue = await create()
      let calls = 0
      let release: () => void = () => {}
      const gate = new Promise<void>((resolve) => { release = resolve })
      await queue.process({ once: async () => { calls++; await gate } }, fakePorts(queue))
      await queue.enqueue('once', null, { jobId: `same-${name}` })
      await queue.enqueue('once', null, { jobId: `same-${name}` })
      await eventually(() => calls >= 1)
      release()
      await new Promise((resolve) => setTimeout(resolve, 200))
      assert.equal(calls, 1)
      await queue.close()
    })

    it('a job id is remembered after its job completed: a duplicate enqueue is a no-op returning the id', async () => {
      const queue = await create()
      let calls = 0
      await queue.process({ once: async () => { calls++ } }, fakePorts(queue))
      assert.deepEqual(await queue.enqueue('once', null, { jobId: `done-${name}` }), { id: `done-${name}` })
      await eventually(() => calls === 1)
      await new Promise((resolve) => setTimeout(resolve, 100))
      assert.deepEqual(await queue.enqueue('once', null, { jobId: `done-${name}` }), { id: `done-${name}` })
      await new Promise((resolve) => setTimeout(resolve, 300))
      assert.equal(calls, 1)
      await queue.close()
    })

    it('a finished job id is forgotten once more than `count` later jobs completed', async () => {
      const queue = await create({ count: 2, ageSeconds: 3600 })
      const runs: string[] = []
      await queue.process({ track: async (_payload, context) => { runs.push(context.jobId) } }, fakePorts(queue))
      const run = async (id: string, expectedRuns: number): Promise<void> => {
        await queue.enqueue('track', null, { jobId: id })
        await eventually(() => runs.length === expectedRuns)
      }
      await run(`old-${name}`, 1)
      await run(`b-${name}`, 2)
      await run(`c-${name}`, 3)
      await new Promise((resolve) => setTimeout(resolve, 100))
      await run(`old-${name}`, 4)
      assert.deepEqual(runs, [`old-${name}`, `b-${name}`, `c-${name}`, `old-${name}`])
      await queue.close()
    })

    it('close waits for a running job to finish', async () => {
      const queue = await create()
      let finished = false
      let started = false
      await queue.process({ slow: async () => {
        started = true
        await new Promise((resolve) => setTimeout(resolve, 300))
        finished = true
      } }, fakePorts(queue))
      await queue.enqueue('slow', null)
      await eventually(() => started)
      await queue.close()
      assert.equal(finished, true)
    })

    it('retries with exponential back-off, the job type\'s attempts when the enqueue names none, then succeeds', async () => {
      const queue = await create()
      queue.configure({ jobOptions: { flaky: { attempts: 4, backoff: { delayMs: 60, jitter: 0 } } } })
      const startedAt: number[] = []
      const failedAt: number[] = []
      await queue.process({ flaky: async (_payload, context) => {
        startedAt.push(Date.now())
        if (context.attempt < 4) { failedAt.push(Date.now()); throw new Error('not yet') }
      } }, fakePorts(queue))
      await queue.enqueue('flaky', null)
      await eventually(() => startedAt.length === 4)
      // Each wait is at least the back-off (60, 120, 240 ms): a slow machine only makes it longer.
      for (const [i, expected] of [60, 120, 240].entries()) {
        assert.ok((startedAt[i + 1] as number) - (failedAt[i] as number) >= expected - 5, `wait ${i + 1} shorter than ${expected} ms`)
      }
      assert.deepEqual(await queue.failed(), [])
      await queue.close()
    })

    it('a job that used up its attempts is a dead letter; retried it runs again; purged it is gone', async () => {
      const queue = await create()
      let broken = true
      const done: string[] = []
      await queue.process({ fragile: async (payload) => {
        if (broken) throw new Error(`broken ${payload as string}`)
        done.push(payload as string)
      } }, fakePorts(queue))
      const { id } = await queue.enqueue('fragile', 'a', { jobId: `dead-${name}`, attempts: 2, backoff: { delayMs: 10 } })
      let dead = await queue.failed()
      const deadline = Date.now() + 10_000
      while (dead.length === 0 && Date.now() < deadline) { await sleep(20); dead = await queue.failed() }
      assert.equal(dead.length, 1)
      assert.equal(dead[0]?.id, id)
      assert.equal(dead[0]?.name, 'fragile')
      assert.equal(dead[0]?.attempts, 2)
      assert.equal(dead[0]?.error, 'broken a')
      assert.deepEqual(dead[0]?.payload, 'a')
      assert.ok(Number.isFinite(Date.parse(dead[0]?.failedAt ?? '')))
      assert.equal((await queue.stats()).failed, 1)
      assert.equal((await queue.job(id))?.state, 'failed')
      // Its id is remembered: enqueueing it again is a no-op, it stays a dead letter.
      await queue.enqueue('fragile', 'a', { jobId: id })
      await sleep(100)
      assert.equal((await queue.failed()).length, 1)

      assert.equal(await queue.retry('no-such-job'), false)
      broken = false
      assert.equal(await queue.retry(id), true)
      await eventually(() => done.length === 1)
      assert.deepEqual(done, ['a'])
      let left = await queue.failed()
      while (left.length > 0 && Date.now() < deadline) { await sleep(20); left = await queue.failed() }
      assert.deepEqual(left, [])

      broken = true
      await queue.enqueue('fragile', 'b', { attempts: 1 })
      await queue.enqueue('fragile', 'c', { attempts: 1 })
      while ((await queue.failed()).length < 2 && Date.now() < deadline) await sleep(20)
      assert.deepEqual((await queue.failed()).map((d) => d.payload).sort(), ['b', 'c'])
      assert.equal(await queue.purge(3600_000), 0, 'nothing failed an hour ago')
      broken = false
      assert.equal(await queue.retryAll(), 2)
      await eventually(() => done.length === 3)
      broken = true
      await queue.enqueue('fragile', 'd', { attempts: 1 })
      while ((await queue.failed()).length < 1 && Date.now() < deadline) await sleep(20)
      assert.equal(await queue.purge(), 1)
      assert.deepEqual(await queue.failed(), [])
      assert.equal((await queue.stats()).failed, 0)
      await queue.close()
    })

    it('a delayed job waits its time while later jobs run; runAt in the past runs at once', async () => {
      const queue = await create()
      const runs: Array<{ payload: string, at: number }> = []
      await queue.process({ mark: async (payload) => { runs.push({ payload: payload as string, at: Date.now() }) } }, fakePorts(queue))
      const enqueuedAt = Date.now()
      const { id } = await queue.enqueue('mark', 'later', { delayMs: 500 })
      assert.equal((await queue.job(id))?.state, 'delayed')
      assert.equal((await queue.stats()).delayed, 1)
      await queue.enqueue('mark', 'now')
      await queue.enqueue('mark', 'past', { runAt: new Date(Date.now() - 60_000) })
      await eventually(() => runs.length === 3)
      assert.equal(runs[2]?.payload, 'later')
      assert.ok((runs[2]?.at) - enqueuedAt >= 495, 'the delayed job ran before its time')
      await queue.close()
    })

    it('a repeatable job runs on every tick, once per tick, however many workers run it', async () => {
      const peers = await createPeers(2)
      const runs: string[] = []
      const started = Date.now()
      for (const peer of peers) {
        peer.configure({ repeat: { heartbeat: { name: 'beat', everyMs: 250, payload: { from: 'schedule' } } } })
        await peer.process({ beat: async (payload, context) => {
          assert.deepEqual(payload, { from: 'schedule' })
          runs.push(context.jobId)
        } }, fakePorts(peer))
      }
      await eventually(() => runs.length >= 4)
      await Promise.all(peers.map(async (p) => { await p.close() }))
      const elapsed = Date.now() - started
      assert.equal(new Set(runs).size, runs.length, 'a tick ran twice')
      // At most one run per 250 ms tick (plus the partial ticks at either end): two workers each
      // running every tick would double it. A slow machine only makes the count smaller.
      assert.ok(runs.length <= Math.floor(elapsed / 250) + 2, `${runs.length} runs in ${elapsed} ms`)
    })

    it('a handler\'s progress is visible while it runs; the queue reports its depth and oldest job', async () => {
      const queue = await create()
      const first = await queue.enqueue('step', 1)
      await queue.enqueue('step', 2)
      await sleep(120)
      const before = await queue.stats()
      assert.equal(before.waiting, 2)
      assert.ok(before.oldestWaitingSeconds >= 0.1, `oldest waited ${before.oldestWaitingSeconds} s`)
      let release: () => void = () => {}
      const gate = new Promise<void>((resolve) => { release = resolve })
      await queue.process({ step: async (_payload, context: JobContext) => {
        await context.progress({ percent: 50 })
        await gate
      } }, fakePorts(queue))
      let info = await queue.job(first.id)
      const deadline = Date.now() + 10_000
      while ((info?.state !== 'active' || JSON.stringify(info.progress) !== '{"percent":50}') && Date.now() < deadline) { await sleep(20); info = await queue.job(first.id) }
      assert.equal(info?.state, 'active')
      assert.deepEqual(info?.progress, { percent: 50 })
      assert.ok((await queue.stats()).active >= 1)
      release()
      while ((await queue.job(first.id))?.state !== 'completed' && Date.now() < deadline) await sleep(20)
      assert.equal((await queue.job(first.id))?.state, 'completed')
      assert.equal(await queue.job('no-such-job'), undefined)
      await queue.close()
    })
  })
}
