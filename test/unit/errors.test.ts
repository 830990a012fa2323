import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { ERRORS, OutgrowError } from '../../src/errors/index.js'

test('docs/errors.md documents exactly the codes the error module defines', () => {
  const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8')
  const documented = new Set([...doc.matchAll(/^### (OUTGROW_[A-Z_]+)/gm)].map((m) => m[1]))
  assert.deepEqual([...documented].sort(), Object.keys(ERRORS).sort())
  for (const [code, spec] of Object.entries(ERRORS)) {
    const section = doc.slice(doc.indexOf(`### ${code}`)).split('\n### ')[0] ?? ''
    assert.match(section, new RegExp(`HTTP ${spec.status}`), `${code} documents its status`)
    assert.match(section, spec.retryable ? /retryable: yes/ : /retryable: no/, `${code} documents whether it is retryable`)
  }
})

test('an OutgrowError serialises to a stable JSON body', () => {
  const err = new OutgrowError('OUTGROW_VALIDATION', 'qty: too small', { field: 'qty' })
  assert.equal(err.status, 400)
  assert.equal(err.retryable, false)
  assert.deepEqual(err.toJSON(), { error: { code: 'OUTGROW_VALIDATION', message: 'qty: too small', retryable: false, details: { field: 'qty' } } })
})
