import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { OutgrowError } from '../../src/errors/index.js'
import { deliveryOf, derivedId, rowIdOf } from '../../src/outbox/delivery.js'
import { eventEntry, jobEntry, outboxOf } from '../../src/outbox/outbox-writer.js'
import type { Queryable } from '../../src/runtime/ports.js'

/** A transaction's statements, recorded instead of run. */
function recorder (): { tx: Queryable, statements: Array<{ sql: string, params: readonly unknown[] }> } {
  const statements: Array<{ sql: string, params: readonly unknown[] }> = []
  return { statements, tx: { query: async (sql, params = []) => { statements.push({ sql, params }); return { rows: [], rowCount: 1 } } } }
}

const validation = (field: string) => (err: unknown): boolean => err instanceof OutgrowError && err.code === 'OUTGROW_VALIDATION' && (err.details as { field?: string }).field === field

describe('outbox entries', () => {
  it('writes a job and an event as one row each, with what the relay needs', async () => {
    const { tx, statements } = recorder()
    await outboxOf(tx).job('order.receipt', { orderId: 7 }, { jobId: 'receipt-7', attempts: 5 })
    await outboxOf(tx).event('order.placed', { orderId: 7 }, { key: 'order-7', id: 'order-placed-7' })
    assert.equal(statements.length, 2)
    assert.deepEqual(statements[0]?.params, ['job', 'order.receipt', '{"orderId":7}', '{"jobId":"receipt-7","attempts":5}', 'receipt-7'])
    assert.deepEqual(statements[1]?.params, ['event', 'order.placed', '{"orderId":7}', '{"key":"order-7","id":"order-placed-7"}', null])
  })

  it('refuses bad input naming the field, and writes nothing', async () => {
    const { tx, statements } = recorder()
    const outbox = outboxOf(tx)
    await assert.rejects(outbox.job('', {}), validation('job name'))
    await assert.rejects(outbox.job('x', { at: new Date() } as never), validation('payload.at'))
    await assert.rejects(outbox.job('x', {}, { jobId: '' }), validation('jobId'))
    await assert.rejects(outbox.job('x', {}, { attempts: 0 }), validation('attempts'))
    await assert.rejects(outbox.event('not a topic', {}), validation('topic'))
    await assert.rejects(outbox.event('a.b', { n: Number.NaN }), validation('data.n'))
    await assert.rejects(outbox.event('a.b', {}, { key: 'k'.repeat(201) }), validation('key'))
    assert.equal(statements.length, 0)
  })
})

describe('outbox delivery', () => {
  it('keeps the ids the writer gave', () => {
    const job = jobEntry('order.receipt', { orderId: 1 }, { jobId: 'receipt-1' })
    assert.deepEqual(deliveryOf({ id: '41', kind: 'job', name: job.name, payload: job.payload, options: job.options }),
      { kind: 'job', name: 'order.receipt', payload: { orderId: 1 }, options: { jobId: 'receipt-1' } })
    const event = eventEntry('order.placed', { orderId: 1 }, { id: 'e-1', key: 'order-1', type: 'placed' })
    assert.deepEqual(deliveryOf({ id: '42', kind: 'event', name: event.name, payload: event.payload, options: event.options }),
      { kind: 'event', topic: 'order.placed', data: { orderId: 1 }, options: { id: 'e-1', key: 'order-1', type: 'placed' } })
  })

  it('derives a fixed id from the entry when the writer gave none, so every redelivery carries the same one', () => {
    const job = deliveryOf({ id: '9', kind: 'job', name: 'x', payload: null, options: {} })
    const event = deliveryOf({ id: '10', kind: 'event', name: 'a.b', payload: null, options: {} })
    assert.equal(job.kind === 'job' ? job.options.jobId : undefined, 'outbox-9')
    assert.equal(event.kind === 'event' ? event.options.id : undefined, 'outbox-10')
    assert.deepEqual(deliveryOf({ id: '9', kind: 'job', name: 'x', payload: null, options: {} }), job)
  })

  it('finds the entry a derived id names, and no entry for any other id', () => {
    assert.equal(rowIdOf(derivedId('123')), '123')
    assert.equal(rowIdOf('receipt-123'), undefined)
    assert.equal(rowIdOf('outbox-12a'), undefined)
  })
})
