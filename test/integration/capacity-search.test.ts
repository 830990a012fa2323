import assert from 'node:assert/strict'
import { fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { after, test } from 'node:test'
import { searchCapacity } from '../../src/lab/capacity-search.js'
import { stepProbe, type MeasuredStep } from '../../src/lab/capacity-step.js'
import type { PlannedRequest, VirtualUser } from '../../src/lab/user-mix.js'

const children: ChildProcess[] = []
after(() => { for (const child of children) child.kill() })

async function startFixedCapacityServer (slots: number, serviceMs: number): Promise<string> {
  const child = fork(fileURLToPath(new URL('../helpers/fixed-capacity-server.js', import.meta.url)), [String(slots), String(serviceMs)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  children.push(child)
  const [message] = await once(child, 'message') as [{ port: number }]
  return `http://127.0.0.1:${message.port}`
}

test('the capacity search converges within 5 % on a server of known capacity (2 slots × 10 ms = 200 req/s)', async () => {
  const url = await startFixedCapacityServer(2, 10)
  const user: VirtualUser = { email: 'probe@example.com', cookie: '', cartItems: 0 }
  const next = (): PlannedRequest => ({ action: 'product', method: 'GET', path: '/', user })
  const steps: MeasuredStep[] = []
  const order: string[] = []
  const recover = async (): Promise<void> => { order.push('rest') }
  const probe = stepProbe({ url, next, label: 'synthetic', recover }, {
    settleSeconds: 0.5, rampSeconds: 1, fullSeconds: 2, minRequests: 0, maxFullSeconds: 2, pauseMs: 200, connections: 64, timeoutMs: 5000,
    slo: { p99Ms: 60, errorRatio: 0.001 }, maxSendLagMs: 20,
  }, (step) => { steps.push(step); order.push('step') })
  const result = await searchCapacity(probe, { startRate: 50, growth: 1.6, precision: 0.03, maxRate: 2000, minRate: 1 })
  const trace = steps.map((s) => `${s.rate}${s.kind === 'ramp' ? 'r' : 'f'}:${s.pass ? 'pass' : s.reason}`).join(', ')
  process.stdout.write(`# capacity search on the synthetic server: ${trace}\n`)
  assert.ok(Math.abs(result.capacity - 200) / 200 <= 0.05, `found ${result.capacity} req/s; steps ${trace}`)
  // Past the capacity the queue grows and the step fails on its p99, not on errors.
  assert.ok(steps.some((s) => !s.pass && /p99/.test(s.reason)), trace)
  // Each step is followed by the stack's rest, before the next step starts.
  assert.deepEqual(order, steps.flatMap(() => ['step', 'rest']))
})
