import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { backoffDelay, delayOf, effectiveOptions, tickJobId } from '../../src/jobs/queue.js'
import { checkSchedule, nextTick } from '../../src/jobs/schedule.js'
import { parseDuration } from '../../src/control/jobs-routes.js'

describe('job options', () => {
  it('back-off doubles from delayMs, stops at maxMs, and jitter stays within ±jitter', () => {
    const none = { delayMs: 100, maxMs: 1000, jitter: 0 }
    assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, none)), [100, 200, 400, 800, 1000, 1000])
    const jittered = { delayMs: 100, jitter: 0.2 }
    assert.equal(backoffDelay(1, jittered, () => 0), 80)
    assert.equal(backoffDelay(1, jittered, () => 1), 120)
    assert.equal(backoffDelay(1, jittered, () => 0.5), 100)
    // The default: 100 ms, ±20 %, at most 10 s.
    assert.ok(backoffDelay(30, undefined, () => 1) <= 12_000)
  })

  it('a delay is the later of delayMs and runAt, never negative', () => {
    assert.equal(delayOf({}, 1000), 0)
    assert.equal(delayOf({ delayMs: 50 }, 1000), 50)
    assert.equal(delayOf({ runAt: 1500 }, 1000), 500)
    assert.equal(delayOf({ runAt: new Date(900) }, 1000), 0)
    assert.equal(delayOf({ delayMs: 700, runAt: 1500 }, 1000), 700)
  })

  it('an enqueue\'s options win over its job type\'s, which win over the defaults', () => {
    const defaults = { jobOptions: { mail: { attempts: 8, backoff: { delayMs: 1000 } } } }
    assert.deepEqual(effectiveOptions('mail', {}, defaults), { attempts: 8, backoff: { delayMs: 1000 } })
    assert.equal(effectiveOptions('mail', { attempts: 2 }, defaults).attempts, 2)
    assert.equal(effectiveOptions('other', {}, defaults).attempts, 3)
  })

  it('ticks are the same in every process: multiples of everyMs, cron times in UTC', () => {
    assert.equal(nextTick({ name: 'x', everyMs: 1000 }, 12_345), 13_000)
    assert.equal(nextTick({ name: 'x', everyMs: 1000 }, 13_000), 14_000)
    assert.equal(nextTick({ name: 'x', cron: '0 3 * * *' }, Date.parse('2026-01-01T04:00:00Z')), Date.parse('2026-01-02T03:00:00Z'))
    assert.equal(tickJobId('nightly', 42), 'repeat:nightly:42')
  })

  it('refuses a schedule naming no handler, both or neither of everyMs and cron, or a bad cron', () => {
    assert.throws(() => { checkSchedule('s', { name: 'nope', everyMs: 100 }, ['beat']) }, { code: 'OUTGROW_CONFIG_INVALID', message: /repeat\.s: no job handler nope/ })
    assert.throws(() => { checkSchedule('s', { name: 'beat' }, ['beat']) }, { message: /everyMs or cron/ })
    assert.throws(() => { checkSchedule('s', { name: 'beat', everyMs: 100, cron: '* * * * *' }, ['beat']) }, { message: /everyMs or cron/ })
    assert.throws(() => { checkSchedule('s', { name: 'beat', cron: 'every day' }, ['beat']) }, { message: /cron every day/ })
    checkSchedule('s', { name: 'beat', cron: '*/5 * * * *' }, ['beat'])
  })

  it('durations for --older-than', () => {
    assert.equal(parseDuration('1h'), 3_600_000)
    assert.equal(parseDuration('30m'), 1_800_000)
    assert.equal(parseDuration('2d'), 172_800_000)
    assert.equal(parseDuration('500ms'), 500)
    assert.throws(() => parseDuration('1 hour'), { code: 'OUTGROW_VALIDATION' })
  })
})
