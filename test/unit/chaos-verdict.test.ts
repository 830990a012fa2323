import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { formatChaosReport } from '../../src/lab/chaos/report.js'
import { computeVerdict, type Ack, type ProbeRound, type VerdictInput } from '../../src/lab/chaos/verdict.js'

const ack = (n: number, sentAt: number, ackedAt = sentAt + 20): Ack => ({ key: `k-${n}`, orderId: 100 + n, sentAt, ackedAt })
const round = (at: number, writable: string[], unreachable: string[] = []): ProbeRound => ({ at, writable, unreachable })

/** A clean run: three orders acknowledged before and after a fault at 1000 ms, each once in the database. */
function input (over: Partial<VerdictInput> = {}): VerdictInput {
  const acks = over.acks ?? [ack(1, 100), ack(2, 1500), ack(3, 2500)]
  return {
    scenario: 'kill-primary',
    target: 'postgres-primary',
    faultAt: 1000,
    endedAt: 4000,
    acks,
    requests: { sent: { checkout: 5, read: 4, add: 3 }, failed: { checkout: { '503 OUTGROW_DB_UNAVAILABLE': 2 } } },
    orders: { started: 3, refused: 0, indeterminate: 0, abandoned: 0 },
    probes: [round(0, ['pg-1']), round(100, ['pg-1'])],
    database: new Map(acks.map((a) => [a.key, [a.orderId]])),
    ...over,
  }
}

describe('chaos verdict', () => {
  it('a clean run is safe: nothing lost, no duplicates, one primary at every instant', () => {
    const v = computeVerdict(input())
    assert.equal(v.safe, true)
    assert.deepEqual(v.violations, [])
    assert.equal(v.lost, 0)
    assert.equal(v.duplicates, 0)
    assert.equal(v.twoPrimaryInstants, 0)
    assert.equal(v.orders.acknowledged, 3)
  })

  it('an acknowledged order missing from the database is lost, and the run unsafe', () => {
    const v = computeVerdict(input({ database: new Map([['k-1', [101]], ['k-3', [103]]]) }))
    assert.equal(v.lost, 1)
    assert.deepEqual(v.examples.lost, ['k-2'])
    assert.equal(v.safe, false)
    assert.match(v.violations.join(), /1 acknowledged order\(s\) lost/)
  })

  it('a key whose order in the database is another one than acknowledged counts as lost', () => {
    const v = computeVerdict(input({ database: new Map([['k-1', [101]], ['k-2', [999]], ['k-3', [103]]]) }))
    assert.equal(v.lost, 1)
    assert.deepEqual(v.examples.lost, ['k-2'])
  })

  it('two orders under one idempotency key are a duplicate, acknowledged or not', () => {
    const db = new Map([['k-1', [101]], ['k-2', [102, 107]], ['k-3', [103]], ['k-9', [110, 111]]])
    const v = computeVerdict(input({ database: db }))
    assert.equal(v.duplicates, 2)
    assert.deepEqual(v.examples.duplicates, ['k-2', 'k-9'])
    assert.equal(v.lost, 0)
    assert.equal(v.safe, false)
    assert.equal(v.orders.unacknowledgedButPlaced, 1, 'k-9 was placed though the client never heard so')
  })

  it('counts the instants when two nodes accepted writes, and those when none did', () => {
    const v = computeVerdict(input({ probes: [round(0, ['pg-1']), round(100, []), round(200, [], ['pg-1']), round(300, ['pg-1', 'pg-2']), round(400, ['pg-2'])] }))
    assert.equal(v.twoPrimaryInstants, 1)
    assert.equal(v.noPrimaryInstants, 2)
    assert.equal(v.probeRounds, 5)
    assert.equal(v.safe, false)
    assert.match(v.violations.join(), /two writable primaries/)
  })

  it('writes are back at the first acknowledged write sent after the fault, not at a late answer to an earlier one', () => {
    // k-1 was sent before the fault and answered after it; k-2 is the first sent after.
    const v = computeVerdict(input({ acks: [ack(1, 900, 1100), ack(2, 3000, 3400), ack(3, 3500, 3600)] }))
    assert.equal(v.writesRecoveredAfterMs, 2400)
    const never = computeVerdict(input({ acks: [ack(1, 500)] }))
    assert.equal(never.writesRecoveredAfterMs, null)
  })

  it('sums requests and failures by kind, and reads on their own', () => {
    const v = computeVerdict(input({ requests: { sent: { checkout: 10, read: 8 }, failed: { checkout: { 'net:ECONNREFUSED': 3, timeout: 1 }, read: { 502: 2 } } } }))
    assert.equal(v.requests.sent, 18)
    assert.equal(v.requests.failed, 6)
    assert.deepEqual(v.requests.byKind.checkout, { sent: 10, failed: 4, reasons: { 'net:ECONNREFUSED': 3, timeout: 1 } })
    assert.deepEqual(v.reads, { sent: 8, failed: 2 })
    // Failures are not a safety violation: a careful client retries them.
    assert.equal(v.safe, true)
  })

  it('the printed table names what failed and why the run is unsafe', () => {
    const verdict = computeVerdict(input({ database: new Map([['k-1', [101]], ['k-2', [102, 108]]]) }))
    const text = formatChaosReport({ verdict, fault: { target: 'postgres-primary', kind: 'freeze', pids: [1, 2], atMs: 1000, resumedAtMs: 3000 }, checkedOn: 'postgres-replica-1', skipped: 0 })
    assert.match(text, /SIGSTOP postgres-primary \(2 processes\) at 1\.0 s, SIGCONT at 3\.0 s/)
    assert.match(text, /checkout +2 of 5 failed: 503 OUTGROW_DB_UNAVAILABLE ×2/)
    assert.match(text, /acknowledged lost +1 \(e\.g\. k-3\)/)
    assert.match(text, /duplicates +1 \(e\.g\. k-2\)/)
    assert.match(text, /verdict +UNSAFE/)
  })
})
