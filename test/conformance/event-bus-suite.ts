import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { OutgrowError } from '../../src/errors/index.js'
import { deadLetterTopic, type EventBus, type EventEnvelope } from '../../src/events/bus.js'
import { MemoryClaimStore } from '../../src/events/claim-stores.js'
import { idempotentWithClaims } from '../../src/events/idempotent.js'
import type { JsonValue } from '../../src/runtime/ports.js'

async function eventually (check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not in time: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** A promise and the function that resolves it. */
function gate (): { opened: Promise<void>, open: () => void } {
  let open: () => void = () => {}
  const opened = new Promise<void>((resolve) => { open = resolve })
  return { opened, open }
}

async function rejection (promise: Promise<unknown>): Promise<OutgrowError> {
  try {
    await promise
  } catch (err) {
    assert.ok(err instanceof OutgrowError, `expected an OutgrowError, got ${String(err)}`)
    return err
  }
  assert.fail('expected a refusal, got none')
}

export interface EventBusUnderTest {
  readonly create: () => Promise<EventBus>
  /** The adapter promises per-key order within a group (docs/events.md). */
  readonly orderedPerKey: boolean
  /** The ack wait the redelivery tests use: short, so a silent consumer's event comes back soon. */
  readonly ackWaitMs: number
  /**
   * Another member of the same deployment as `bus` (another process, for adapters that span
   * processes; for the in-process bus, a view of the same bus whose close leaves it open).
   */
  readonly peer?: (bus: EventBus) => Promise<EventBus>
}

/** A bound on each test, so a lost event fails the test instead of hanging the run. */
const LIMIT = { timeout: 60_000 }

/** One behaviour for every event bus adapter; topics and groups are fresh per test, so backends may be shared. */
export function eventBusConformance (name: string, subject: EventBusUnderTest): void {
  const fresh = (what: string): string => `${what}-${randomBytes(4).toString('hex')}`
  const ackWaitMs = subject.ackWaitMs
  const peerOf = async (bus: EventBus): Promise<EventBus> => await (subject.peer ?? (async () => await subject.create()))(bus)

  describe(`event bus conformance: ${name}`, () => {
    it('delivers a published event with its envelope to a subscriber', LIMIT, async () => {
      const bus = await subject.create()
      const topic = `shop.${fresh('order')}.placed`
      const seen: EventEnvelope[] = []
      await bus.subscribe(topic, fresh('g'), async (event) => { seen.push(event) })
      const { id } = await bus.publish(topic, { orderId: 7, lines: [{ productId: 3, qty: 2 }] }, { key: 'order-7', type: 'OrderPlaced' })
      await eventually(() => seen.length === 1, 'the event delivered')
      const event = seen[0] as EventEnvelope
      assert.equal(event.id, id)
      assert.equal(event.topic, topic)
      assert.equal(event.key, 'order-7')
      assert.equal(event.type, 'OrderPlaced')
      assert.deepEqual(event.data, { orderId: 7, lines: [{ productId: 3, qty: 2 }] })
      assert.equal(event.deliveries, 1)
      assert.ok(Math.abs(Date.parse(event.time) - Date.now()) < 60_000, 'time is the publish time')
      const { id: second } = await bus.publish(topic, 'plain', { id: 'my-own-id' })
      assert.equal(second, 'my-own-id')
      await eventually(() => seen.length === 2, 'the second event delivered')
      assert.equal(seen[1]?.type, topic, 'the type defaults to the topic')
      assert.equal(seen[1]?.key, undefined)
      await bus.close()
    })

    it('two groups each get every event', LIMIT, async () => {
      const bus = await subject.create()
      const topic = fresh('product.changed')
      const a: JsonValue[] = []
      const b: JsonValue[] = []
      await bus.subscribe(topic, fresh('a'), async (event) => { a.push(event.data) })
      await bus.subscribe(topic, fresh('b'), async (event) => { b.push(event.data) })
      for (let i = 0; i < 10; i++) await bus.publish(topic, i)
      await eventually(() => a.length === 10 && b.length === 10, 'both groups got ten')
      assert.deepEqual([...a].sort((x, y) => Number(x) - Number(y)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
      assert.deepEqual([...b].sort((x, y) => Number(x) - Number(y)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
      await bus.close()
    })

    it("one group's consumers share its events: each event goes to one of them", LIMIT, async () => {
      const bus = await subject.create()
      const other = await peerOf(bus)
      const topic = fresh('shared')
      const group = fresh('g')
      const byConsumer: [number[], number[]] = [[], []]
      // Each consumer holds its first event until the other has one too: with one handler slot
      // each, the second event can only go to the other consumer.
      const both = gate()
      const handlerFor = (me: 0 | 1) => async (event: EventEnvelope): Promise<void> => {
        byConsumer[me].push(event.data as number)
        if (byConsumer[0].length > 0 && byConsumer[1].length > 0) both.open()
        await both.opened
      }
      await bus.subscribe(topic, group, handlerFor(0), { concurrency: 1 })
      await other.subscribe(topic, group, handlerFor(1), { concurrency: 1 })
      for (let i = 0; i < 20; i++) await bus.publish(topic, i)
      await eventually(() => byConsumer[0].length + byConsumer[1].length >= 20, 'twenty handled')
      const all = [...byConsumer[0], ...byConsumer[1]].sort((x, y) => x - y)
      assert.deepEqual(all, Array.from({ length: 20 }, (_, i) => i), 'every event once, none twice')
      assert.ok(byConsumer[0].length > 0 && byConsumer[1].length > 0, 'both consumers took part')
      await Promise.all([bus.close(), other.close()])
    })

    it('an event whose handler throws is delivered again, counting deliveries', LIMIT, async () => {
      const bus = await subject.create()
      const topic = fresh('flaky')
      const deliveries: number[] = []
      await bus.subscribe(topic, fresh('g'), async (event) => {
        deliveries.push(event.deliveries)
        if (event.deliveries < 3) throw new Error('not yet')
      }, { ackWaitMs, maxDeliveries: 5 })
      await bus.publish(topic, { n: 1 })
      await eventually(() => deliveries.length === 3, 'three deliveries')
      assert.deepEqual(deliveries, [1, 2, 3])
      await bus.close()
    })

    it('an event left unacknowledged by a consumer that stopped (crash stand-in) goes to another consumer of the group', LIMIT, async () => {
      const bus = await subject.create()
      const other = await peerOf(bus)
      const topic = fresh('abandoned')
      const group = fresh('g')
      const hung: EventEnvelope[] = []
      const taken: EventEnvelope[] = []
      const first = await bus.subscribe(topic, group, async (event) => { hung.push(event); await new Promise(() => {}) }, { ackWaitMs })
      const { id } = await bus.publish(topic, 'work')
      await eventually(() => hung.length === 1, 'the first consumer has it')
      await other.subscribe(topic, group, async (event) => { taken.push(event) }, { ackWaitMs })
      await first.close({ graceMs: 0 })
      await eventually(() => taken.length === 1, 'the other consumer got it')
      assert.equal(taken[0]?.id, id)
      assert.ok((taken[0]?.deliveries ?? 0) >= 2, 'counted as a redelivery')
      await Promise.all([bus.close(), other.close()])
    })

    it('close drains: a running handler finishes and is acknowledged before close resolves', LIMIT, async () => {
      const bus = await subject.create()
      const topic = fresh('drain')
      const group = fresh('g')
      let finished = 0
      const started = gate()
      const subscription = await bus.subscribe(topic, group, async () => {
        started.open()
        await new Promise((resolve) => setTimeout(resolve, 200))
        finished++
      }, { ackWaitMs })
      await bus.publish(topic, 'first')
      await started.opened
      await subscription.close()
      assert.equal(finished, 1, 'close waited for the handler')
      // The next member of the group sees the later event, never the acknowledged one again.
      const later = await peerOf(bus)
      const seen: JsonValue[] = []
      await later.subscribe(topic, group, async (event) => { seen.push(event.data) }, { ackWaitMs })
      await later.publish(topic, 'second')
      await eventually(() => seen.includes('second'), 'the later event delivered')
      assert.deepEqual(seen, ['second'])
      await Promise.all([bus.close(), later.close()])
    })

    it('after maxDeliveries failed deliveries the event goes to the dead-letter topic, once', LIMIT, async () => {
      const bus = await subject.create()
      const topic = fresh('poison')
      const group = fresh('g')
      const dead: EventEnvelope[] = []
      await bus.subscribe(deadLetterTopic(group), fresh('dlq'), async (event) => { dead.push(event) })
      let calls = 0
      await bus.subscribe(topic, group, async () => { calls++; throw new Error('poison pill') }, { maxDeliveries: 3, ackWaitMs })
      const { id } = await bus.publish(topic, { bad: true }, { key: 'k1' })
      await eventually(() => dead.length === 1, 'dead-lettered')
      assert.equal(calls, 3)
      const letter = dead[0] as EventEnvelope
      assert.equal(letter.id, id)
      assert.equal(letter.topic, deadLetterTopic(group))
      assert.deepEqual(letter.data, { bad: true })
      assert.equal(letter.key, 'k1')
      assert.deepEqual({ ...letter.deadLetter, error: undefined }, { topic, group, deliveries: 3, error: undefined })
      assert.match(letter.deadLetter?.error ?? '', /poison pill/)
      // The poison event is done with: a later event is handled, the poison one is not tried again.
      await bus.publish(topic, { bad: false })
      await eventually(() => calls === 4, 'the next event handled')
      assert.equal(dead.length, 1)
      await bus.close()
    })

    it('the idempotent-consumer helper applies a redelivered or republished event once', LIMIT, async () => {
      const bus = await subject.create()
      const topic = fresh('payment')
      const group = fresh('g')
      const applied = new Map<string, number>()
      const handled: number[] = []
      const effect = idempotentWithClaims(new MemoryClaimStore(), group, async (event) => {
        applied.set(event.id, (applied.get(event.id) ?? 0) + 1)
      })
      await bus.subscribe(topic, group, async (event) => {
        await effect(event)
        handled.push(event.deliveries)
        // The effect is done but the ack is lost (a crash right after): the bus delivers it again.
        if (event.deliveries === 1 && event.data === 'once') throw new Error('lost ack')
      }, { ackWaitMs })
      const { id } = await bus.publish(topic, 'once')
      await eventually(() => handled.length === 2, 'delivered twice')
      assert.equal(applied.get(id), 1)
      // A publisher retry with the same id: at most one more delivery, no second effect.
      await bus.publish(topic, 'again', { id: 'fixed-id' })
      await bus.publish(topic, 'again', { id: 'fixed-id' })
      await bus.publish(topic, 'marker')
      await eventually(() => applied.size === 3, 'the marker applied')
      assert.equal(applied.get('fixed-id'), 1)
      await bus.close()
    })

    if (subject.orderedPerKey) {
      it('keeps per-key order within a group, across handler failures and concurrency', LIMIT, async () => {
        const bus = await subject.create()
        const topic = fresh('ordered')
        const order: Record<string, number[]> = { a: [], b: [], c: [] }
        let failedOnce = false
        await bus.subscribe(topic, fresh('g'), async (event) => {
          const { key, n } = event.data as { key: string, n: number }
          if (key === 'a' && n === 1 && !failedOnce) { failedOnce = true; throw new Error('once') }
          await new Promise((resolve) => setTimeout(resolve, (n * 7) % 5))
          order[key]?.push(n)
        }, { concurrency: 4, ackWaitMs })
        for (let n = 0; n < 8; n++) for (const key of ['a', 'b', 'c']) await bus.publish(topic, { key, n }, { key })
        await eventually(() => Object.values(order).every((list) => list.length === 8), 'all handled')
        for (const key of ['a', 'b', 'c']) assert.deepEqual(order[key], [0, 1, 2, 3, 4, 5, 6, 7], `order of ${key}`)
        await bus.close()
      })
    }

    it('bad input is refused with OUTGROW_VALIDATION naming the field, and publishes nothing', LIMIT, async () => {
      const bus = await subject.create()
      const topic = fresh('strict')
      const seen: JsonValue[] = []
      await bus.subscribe(topic, fresh('g'), async (event) => { seen.push(event.data) })
      const refusals: Array<[Promise<unknown>, string]> = [
        [bus.publish('', 1), 'topic'],
        [bus.publish('has space', 1), 'topic'],
        [bus.publish(topic, { when: new Date() } as unknown as JsonValue), 'data.when'],
        [bus.publish(topic, { f: () => 1 } as unknown as JsonValue), 'data.f'],
        [bus.publish(topic, { n: 10n } as unknown as JsonValue), 'data.n'],
        [bus.publish(topic, [1, Number.NaN]), 'data[1]'],
        [bus.publish(topic, { missing: undefined } as unknown as JsonValue), 'data.missing'],
        [bus.publish(topic, 1, { key: '' }), 'key'],
        [bus.subscribe(topic, '', async () => {}), 'group'],
        [bus.subscribe('', 'g', async () => {}), 'topic'],
        [bus.subscribe(topic, 'g', async () => {}, { concurrency: 0 }), 'concurrency'],
      ]
      const circular: Record<string, unknown> = {}
      circular.self = circular
      refusals.push([bus.publish(topic, circular as JsonValue), 'data.self'])
      for (const [attempt, field] of refusals) {
        const err = await rejection(attempt)
        assert.equal(err.code, 'OUTGROW_VALIDATION')
        assert.equal(err.details?.field, field)
        assert.ok(err.message.startsWith(`${field}:`), err.message)
      }
      await bus.publish(topic, 'good')
      await eventually(() => seen.length === 1, 'the good event delivered')
      assert.deepEqual(seen, ['good'])
      await bus.close()
    })

    it('a closed bus refuses to publish', LIMIT, async () => {
      const bus = await subject.create()
      await bus.close()
      const err = await rejection(bus.publish('after.close', 1))
      assert.equal(err.code, 'OUTGROW_SHUTTING_DOWN')
    })
  })
}
