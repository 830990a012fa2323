import assert from 'node:assert/strict'
import { OutgrowError } from '../../src/errors/index.js'

/** Runs fn and returns the OutgrowError it throws (failing if it throws anything else, or nothing). */
export function thrown (fn: () => unknown): OutgrowError {
  try {
    fn()
  } catch (err) {
    assert.ok(err instanceof OutgrowError, `expected an OutgrowError, got ${String(err)}`)
    return err
  }
  assert.fail('expected a refusal, got none')
}
