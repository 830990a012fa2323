import assert from 'node:assert/strict'
import { test } from 'node:test'
import { upLogLine } from '../../src/cli/up-progress.js'
import type { MeasuredStep } from '../../src/lab/capacity-step.js'
import type { OpenLoopProgress } from '../../src/lab/open-loop.js'
import { formatProgressLine, formatStepLine, progressPrinter } from '../../src/lab/progress.js'
import { RecentLatency } from '../../src/lab/recent-latency.js'

function recentWith (latenciesMs: number[]): RecentLatency {
  const recent = new RecentLatency(2000, () => 0)
  for (const ms of latenciesMs) recent.record(ms)
  return recent
}

const progress = (elapsedMs: number, recent?: RecentLatency): OpenLoopProgress => ({ elapsedMs, durationMs: 10_000, sent: 2 * elapsedMs / 10, completed: elapsedMs / 10, answered: elapsedMs / 10, errors: 3, recent })

test('the live line shows elapsed, offered and achieved rate, the recent p99 and errors; a bar only on a terminal', () => {
  const recent = recentWith([...Array.from({ length: 99 }, () => 5), 250])
  const plain = formatProgressLine('L4', progress(4000, recent), false)
  assert.equal(plain, 'L4 4/10s  offered 200/s  achieved 100/s  p99 5.0 ms (last seconds)  errors 3')
  const tty = formatProgressLine('L4', progress(5000, recent), true)
  assert.match(tty, /^L4 \[#{12}\.{12}\] 5\/10s {2}offered 200\/s {2}achieved 100\/s {2}p99 5\.0 ms/)
})

test('on a terminal the line is redrawn in place and ends with a newline; otherwise one line every 5 s', () => {
  let clock = 0
  const ttyOut: string[] = []
  const tty = progressPrinter('run', { isTTY: true, write: (t: string) => ttyOut.push(t) }, () => clock)
  for (clock = 0; clock <= 10_000; clock += 100) tty(progress(clock))
  assert.ok(ttyOut.every((t) => t.startsWith('\r')), 'carriage return: redrawn in place')
  assert.ok(ttyOut.length >= 45 && ttyOut.length <= 52, `about 5 draws a second (${ttyOut.length})`)
  assert.ok(ttyOut.at(-1)?.endsWith('\n') === true && ttyOut.slice(0, -1).every((t) => !t.includes('\n')), 'only the last draw ends the line')

  const logOut: string[] = []
  const log = progressPrinter('run', { isTTY: false, write: (t: string) => logOut.push(t) }, () => clock)
  for (clock = 0; clock <= 10_000; clock += 100) log(progress(clock))
  assert.deepEqual(logOut.map((l) => l.split(' ')[1]), ['0/10s', '5/10s', '10/10s'], 'a line at the start, every 5 s and at the end')
  assert.ok(logOut.every((l) => !l.includes('\r') && !l.includes('[') && l.endsWith('\n')))
})

test('the recent p99 covers the last window or two, not the whole run', () => {
  let now = 0
  const recent = new RecentLatency(1000, () => now)
  for (let i = 0; i < 100; i++) recent.record(900)
  const near = (actual: number, expected: number): boolean => Math.abs(actual - expected) <= expected * 0.01
  assert.ok(near(recent.p99Ms(), 900))
  now = 1500
  for (let i = 0; i < 100; i++) recent.record(10)
  assert.ok(near(recent.p99Ms(), 900), 'the previous window still counts')
  now = 2600
  recent.record(10)
  assert.ok(near(recent.p99Ms(), 10), 'the slow window has aged out')
  now = 10_000
  assert.equal(recent.p99Ms(), 0, 'nothing recent after a long gap')
})

test('a capacity step is one line: rate, p99, errors and the verdict', () => {
  const step: MeasuredStep = { rate: 86, kind: 'full', pass: false, reason: 'p99 120 ms > 100 ms', p99Ms: 120, achievedRate: 85.5, errorRatio: 0.0012, sendLagP99Ms: 1, errorsByKind: {} }
  assert.equal(formatStepLine('L2', step), 'L2: 86 req/s (full) → p99 120 ms, errors 0.12 %, achieved 85.5 req/s: FAIL (p99 120 ms > 100 ms)')
  assert.match(formatStepLine('L2', { ...step, pass: true, reason: '' }), /: pass$/)
})

test('`outgrow up` progress lines carry the seconds since start', () => {
  assert.equal(upLogLine('start postgres-primary on server-2: done in 812 ms', 3456), '[   3.5 s] start postgres-primary on server-2: done in 812 ms')
})
