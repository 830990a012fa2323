/**
 * Runs simulations on a worker thread. The test runner follows every promise a test creates with
 * async hooks (to blame an uncaught error on its test); the simulation creates millions, and under
 * those hooks it ran about four times slower. A worker thread has none. The results are the same:
 * a run depends on its options alone.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import { simulate, type SimOptions, type SimResult } from './ha-sim.js'

interface Job {
  readonly runs: readonly SimOptions[]
  /** 'violations': a result's trace is sent only with a violation (1000 seeds' traces are not needed). */
  readonly traces: 'all' | 'violations'
}

/** Runs `runs` in order on one worker thread, handing each result to `each`; stops at the first error `each` throws. */
export async function simulateOnThread (runs: readonly SimOptions[], traces: Job['traces'], each: (result: SimResult) => void): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let settled = false
    const settle = (err?: Error): void => {
      if (settled) return
      settled = true
      if (err === undefined) resolve()
      else { reject(err); void worker.terminate() }
    }
    const job: Job = { runs, traces }
    const worker = new Worker(new URL(import.meta.url), { workerData: job })
    worker.on('message', (result: SimResult | null) => {
      if (settled) return
      if (result === null) { settle(); return }
      try { each(result) } catch (err) { settle(err as Error) }
    })
    worker.on('error', (err) => { settle(err) })
    worker.on('exit', (code) => { settle(new Error(`the simulation thread exited (code ${code}) before its last run`)) })
  })
}

if (!isMainThread && parentPort !== null) {
  const port = parentPort
  const job = workerData as Job
  for (const options of job.runs) {
    const result = await simulate(options)
    port.postMessage(job.traces === 'all' || result.violation !== null ? result : { ...result, trace: [] })
  }
  port.postMessage(null)
}
