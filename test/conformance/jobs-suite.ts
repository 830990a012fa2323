import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { JobIdRetention, JobQueue } from '../../src/jobs/queue.js'
import type { Ports } from '../../src/runtime/ports.js'

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

/** One behaviour for every job queue adapter. */
export function jobQueueConformance (name: string, create: (retention?: JobIdRetention) => Promise<JobQueue>): void {
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
  })
}
