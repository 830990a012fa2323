import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { OutgrowError } from '../../src/errors/index.js'
import { deliveryOf, derivedId, rowIdOf } from '../../src/outbox/delivery.js'
import { deferredOutbox, eventEntry, jobEntry } from '../../src/outbox/outbox-writer.js'
import type { Queryable } from '../../src/runtime/ports.js'

/** A transaction's statements, recorded instead of run. */
function recorder (): { tx: Queryable, statements: Array<{ sql: string, params: readonly unknown[] }> } {
  const statements: Array<{ sql: string, params: readonly unknown[] }> = []
  return { statements, tx: { query: async (sql, params = []) => { statements.push({ sql, params }); return { rows: [], rowCount: 1 } } } }
}

const validation = (field: string) => (err: unknown): boolean => err instanceof OutgrowError && err.code === 'OUTGROW_VALIDATION' && (err.details as { field?: string }).field === field

describe('outbox entries', () => {
  it('writes a job and an event as one row each, in one statement, when flushed', async () => {
    const { tx, statements } = recorder()
    const { outbox, flush } = deferredOutbox(tx)
    await outbox.job('order.receipt', { orderId: 7 }, { jobId: 'receipt-7', attempts: 5 })
    await outbox.event('order.placed', { orderId: 7 }, { key: 'order-7', id: 'order-placed-7' })
    assert.equal(statements.length, 0)
    await flush()
    assert.equal(statements.length, 1)
    assert.match(statements[0]?.sql ?? '', /VALUES \(\$1, \$2, \$3, \$4, \$5\), \(\$6, \$7, \$8, \$9, \$10\)$/)
    assert.deepEqual(statements[0]?.params, [
      'job', 'order.receipt', '{"orderId":7}', '{"jobId":"receipt-7","attempts":5}', 'receipt-7',
      'event', 'order.placed', '{"orderId":7}', '{"key":"order-7","id":"order-placed-7"}', null,
    ])
    await flush()
    assert.equal(statements.length, 1, 'a flush with nothing pending writes nothing')
  })

  it('writes a payload as it was when given, not as it is at the flush', async () => {
    const { tx, statements } = recorder()
    const { outbox, flush } = deferredOutbox(tx)
    const payload = { orderId: 7 }
    await outbox.job('order.receipt', payload)
    payload.orderId = 8
    await flush()
    assert.equal(statements[0]?.params[2], '{"orderId":7}')
  })

  it('splits a large batch into statements of at most 1000 rows', async () => {
    const { tx, statements } = recorder()
    const { outbox, flush } = deferredOutbox(tx)
    for (let i = 0; i < 2500; i++) await outbox.event('a.b', { i })
    await flush()
    assert.deepEqual(statements.map((s) => s.params.length), [5000, 5000, 2500])
    assert.deepEqual(statements[2]?.params.slice(0, 3), ['event', 'a.b', '{"i":2000}'])
  })

  it('refuses bad input naming the field, and writes nothing', async () => {
    const { tx, statements } = recorder()
    const { outbox, flush } = deferredOutbox(tx)
    await assert.rejects(outbox.job('', {}), validation('job name'))
    await assert.rejects(outbox.job('x', { at: new Date() } as never), validation('payload.at'))
    await assert.rejects(outbox.job('x', {}, { jobId: '' }), validation('jobId'))
    await assert.rejects(outbox.job('x', {}, { attempts: 0 }), validation('attempts'))
    await assert.rejects(outbox.event('not a topic', {}), validation('topic'))
    await assert.rejects(outbox.event('a.b', { n: Number.NaN }), validation('data.n'))
    await assert.rejects(outbox.event('a.b', {}, { key: 'k'.repeat(201) }), validation('key'))
    await flush()
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
