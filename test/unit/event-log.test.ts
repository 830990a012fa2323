import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { EventLog, type StackEvent } from '../../src/control/event-log.js'

async function tempDir (t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'outgrow-events-'))
  t.after(async () => { await rm(dir, { recursive: true, force: true }) })
  return dir
}

test('events are numbered from 1, stamped with the given time and written as JSON lines in order', async (t) => {
  const file = join(await tempDir(t), 'events.jsonl')
  const log = new EventLog(file)
  const a = log.append({ actor: 'cli', action: 'scale', target: 'app', result: 'requested', detail: 'app 3 → 4' }, Date.UTC(2024, 0, 2, 3, 4, 5))
  const b = log.append({ actor: 'reconciler', action: 'start', target: 'app-4', result: 'ok' }, Date.UTC(2024, 0, 2, 3, 4, 6))
  const many = Array.from({ length: 50 }, (_, i) => log.append({ actor: 'supervisor', action: 'exited', target: `app-${i}`, result: 'observed' }))
  assert.deepEqual([a.seq, b.seq, many.at(-1)?.seq], [1, 2, 52])
  assert.equal(a.time, '2024-01-02T03:04:05.000Z')
  assert.deepEqual(a, { seq: 1, time: '2024-01-02T03:04:05.000Z', actor: 'cli', action: 'scale', target: 'app', result: 'requested', detail: 'app 3 → 4' })
  await log.flush()
  const lines = (await readFile(file, 'utf8')).split('\n')
  assert.equal(lines.pop(), '', 'every line ends with a newline')
  assert.deepEqual(lines.map((l) => JSON.parse(l) as StackEvent), [a, b, ...many])
})

test('appends add to an existing file', async (t) => {
  const file = join(await tempDir(t), 'events.jsonl')
  const first = new EventLog(file)
  first.append({ actor: 'cli', action: 'up', result: 'ok' })
  await first.flush()
  const second = new EventLog(file)
  second.append({ actor: 'cli', action: 'down', result: 'ok' })
  await second.flush()
  const actions = (await readFile(file, 'utf8')).trim().split('\n').map((l) => (JSON.parse(l) as StackEvent).action)
  assert.deepEqual(actions, ['up', 'down'])
})

test('a file that cannot be written does not break appends or flush', async (t) => {
  const file = join(await tempDir(t), 'missing-dir', 'events.jsonl')
  const log = new EventLog(file)
  log.append({ actor: 'cli', action: 'up', result: 'ok' })
  await log.flush()
  log.append({ actor: 'cli', action: 'down', result: 'ok' })
  await log.flush()
  assert.deepEqual(log.since().map((e) => e.action), ['up', 'down'])
})

test('since(seq) returns the events after seq; since() all kept ones', () => {
  const log = new EventLog(undefined)
  for (const action of ['a', 'b', 'c', 'd']) log.append({ actor: 'api', action, result: 'ok' })
  assert.deepEqual(log.since().map((e) => e.seq), [1, 2, 3, 4])
  assert.deepEqual(log.since(0).map((e) => e.seq), [1, 2, 3, 4])
  assert.deepEqual(log.since(2).map((e) => e.action), ['c', 'd'])
  assert.deepEqual(log.since(4), [])
  assert.deepEqual(log.since(99), [])
})

test('memory keeps the newest `limit` events; numbering goes on', () => {
  const log = new EventLog(undefined, 3)
  for (let i = 0; i < 5; i++) log.append({ actor: 'api', action: `a${i}`, result: 'ok' })
  assert.deepEqual(log.since().map((e) => [e.seq, e.action]), [[3, 'a2'], [4, 'a3'], [5, 'a4']])
  assert.deepEqual(log.since(4).map((e) => e.seq), [5])
})

test('subscribers get each event as it is appended until they unsubscribe', () => {
  const log = new EventLog(undefined)
  const seen: number[] = []
  const others: string[] = []
  const unsubscribe = log.subscribe((e) => { seen.push(e.seq) })
  log.subscribe((e) => { others.push(e.action) })
  const first = log.append({ actor: 'api', action: 'apply', result: 'ok' })
  assert.deepEqual(seen, [first.seq], 'delivered synchronously')
  unsubscribe()
  log.append({ actor: 'api', action: 'scale', result: 'refused' })
  assert.deepEqual(seen, [1])
  assert.deepEqual(others, ['apply', 'scale'])
})
