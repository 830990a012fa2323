import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isOutgrowError } from '../../src/errors/index.js'
import { liveStackCount, stackIsDown, stackIsUp, stopLiveStacksOnSignal, type StoppableStack } from '../../src/control/live-stacks.js'

test('a signal stops every live stack, refuses new ones, then exits 128 + its number; a second signal exits at once', async () => {
  const order: string[] = []
  let release: () => void = () => {}
  const slowDown = new Promise<void>((resolve) => { release = resolve })
  const quick: StoppableStack = { async down (actor) { order.push(`quick down by ${actor ?? '?'}`); stackIsDown(quick) } }
  const slow: StoppableStack = { async down () { await slowDown; order.push('slow down'); stackIsDown(slow) } }
  stackIsUp(quick)
  stackIsUp(slow)
  assert.equal(liveStackCount(), 2)

  const exits: number[] = []
  const lines: string[] = []
  const remove = stopLiveStacksOnSignal({ log: (line) => lines.push(line), exit: (code) => exits.push(code), timeoutMs: 10_000 })
  try {
    process.emit('SIGTERM')
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(order, ['quick down by signal'])
    assert.deepEqual(exits, [], 'no exit while a stack is still stopping')
    assert.throws(() => { stackIsUp({ async down () {} }) }, (err: unknown) => isOutgrowError(err) && err.code === 'OUTGROW_SHUTTING_DOWN')

    release()
    await new Promise((resolve) => setTimeout(resolve, 10))
    assert.deepEqual(order, ['quick down by signal', 'slow down'])
    assert.deepEqual(exits, [143])
    assert.equal(liveStackCount(), 0)

    process.emit('SIGINT')
    assert.deepEqual(exits, [143, 130], 'a second signal does not wait')
    assert.match(lines[0] ?? '', /SIGTERM: stopping 2 stack\(s\)/)
  } finally {
    remove()
  }
})
