import assert from 'node:assert/strict'
import { it } from 'node:test'
import { InProcessQueue } from '../../src/jobs/inprocess-queue.js'
import { registry, reportJobQueue } from '../../src/runtime/metrics.js'
import type { Ports } from '../../src/runtime/ports.js'

const quietLog = { info () {}, warn () {}, error () {} }

it('a reported queue\'s depth, dead letters, oldest job and run times are on /metrics', async () => {
  const queue = new InProcessQueue(1)
  reportJobQueue('metrics-test', async () => await queue.stats())
  await queue.enqueue('ok', 1)
  await queue.enqueue('ok', 2)
  await queue.enqueue('later', null, { delayMs: 60_000 })
  await new Promise((resolve) => setTimeout(resolve, 50))
  const before = await registry.metrics()
  assert.match(before, /outgrow_job_queue_jobs\{queue="metrics-test",state="waiting"\} 2/)
  assert.match(before, /outgrow_job_queue_jobs\{queue="metrics-test",state="delayed"\} 1/)
  const oldest = Number(/outgrow_job_queue_oldest_waiting_seconds\{queue="metrics-test"\} ([\d.e-]+)/.exec(before)?.[1])
  assert.ok(oldest >= 0.04, `oldest waited ${oldest} s`)

  let done = 0
  await queue.process({ ok: async () => { done++ }, bad: async () => { throw new Error('no') } }, { jobs: queue, log: quietLog } as unknown as Ports)
  await queue.enqueue('bad', null, { attempts: 1 })
  while (done < 2 || (await queue.stats()).failed < 1) await new Promise((resolve) => setTimeout(resolve, 10))
  await new Promise((resolve) => setTimeout(resolve, 600)) // past the shared reading of the previous scrape
  const after = await registry.metrics()
  assert.match(after, /outgrow_job_queue_jobs\{queue="metrics-test",state="waiting"\} 0/)
  assert.match(after, /outgrow_job_queue_jobs\{queue="metrics-test",state="failed"\} 1/)
  assert.match(after, /outgrow_job_queue_oldest_waiting_seconds\{queue="metrics-test"\} 0/)
  assert.match(after, /outgrow_job_run_seconds_count\{name="ok",outcome="completed"\} 2/)
  assert.match(after, /outgrow_jobs_total\{name="bad",outcome="failed"\} 1/)
  await queue.close()
})
