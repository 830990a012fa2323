import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { getPriority } from 'node:os'
import { test } from 'node:test'
import { childNiceArgs, raiseOwnPriority, restoreOwnPriority } from '../../src/supervisor/priority.js'

/** What `nice` (no arguments: prints its own niceness) says when started with `prefix`. */
function childNiceness (prefix: string[]): number {
  const [command, ...args] = [...prefix, 'nice']
  return Number(execFileSync(command, args, { encoding: 'utf8' }).trim())
}

test('the generator is raised above the servers, and the children it starts are put back', () => {
  const base = getPriority()
  assert.deepEqual(childNiceArgs(), [], 'nothing to undo before it is raised')
  const raised = raiseOwnPriority(10)
  try {
    if (raised === undefined) {
      // Not allowed here (no root, no CAP_SYS_NICE): nothing changed, children start as before.
      assert.equal(getPriority(), base)
      assert.deepEqual(childNiceArgs(), [])
      return
    }
    assert.equal(raised, Math.max(-20, base - 10))
    assert.equal(childNiceness([]), raised, 'a plain child inherits the raised priority')
    assert.equal(childNiceness(childNiceArgs()), base, 'a child started with the prefix runs at the old priority')
  } finally {
    restoreOwnPriority()
  }
  assert.equal(getPriority(), base)
  assert.deepEqual(childNiceArgs(), [])
})
