import assert from 'node:assert/strict'
import { fork } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { it } from 'node:test'
import type { EventBus, EventEnvelope } from '../../src/events/bus.js'

const CHILD = fileURLToPath(new URL('./event-bus-child.js', import.meta.url))

/**
 * A real crash: a consumer process is killed with SIGKILL while its handler runs; the event it
 * held comes back to another member of the group, counted as a redelivery.
 */
export function crashedConsumerTest (kind: 'redis' | 'nats', url: () => Promise<string>, create: () => Promise<EventBus>, ackWaitMs: number): void {
  it(`${kind}: an event held by a consumer process killed with SIGKILL mid-handling is delivered to another member`, { timeout: 60_000 }, async () => {
    const topic = `crash-${randomBytes(4).toString('hex')}`
    const group = `g-${randomBytes(4).toString('hex')}`
    const child = fork(CHILD, [kind, await url(), topic, group, String(ackWaitMs)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    const exited = new Promise<void>((resolve) => { child.once('exit', () => { resolve() }) })
    const messages: Array<Record<string, unknown>> = []
    child.on('message', (m) => { messages.push(m as Record<string, unknown>) })
    const bus = await create()
    try {
      await waitFor(() => messages.some((m) => m.subscribed === true), 'the child subscribed')
      const { id } = await bus.publish(topic, { work: 1 })
      await waitFor(() => messages.some((m) => m.handling === id), 'the child is handling it')
      child.kill('SIGKILL')
      await exited
      const taken: EventEnvelope[] = []
      await bus.subscribe(topic, group, async (event) => { taken.push(event) }, { ackWaitMs })
      await waitFor(() => taken.length === 1, 'another member got it')
      assert.equal(taken[0]?.id, id)
      assert.equal(taken[0]?.deliveries, 2)
    } finally {
      child.kill('SIGKILL')
      await bus.close()
    }
  })
}

async function waitFor (check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not in time: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
