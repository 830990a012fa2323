import assert from 'node:assert/strict'
import { test } from 'node:test'
import { profileStackProcess } from '../../src/control/cpu-profile.js'
import { OutgrowError } from '../../src/errors/index.js'

const code = (expected: string) => (err: unknown): boolean => err instanceof OutgrowError && err.code === expected

test('a CPU profile of an unknown process name is OUTGROW_NOT_FOUND', async () => {
  await assert.rejects(profileStackProcess(() => undefined, 'app-9', { durationMs: 500 }), code('OUTGROW_NOT_FOUND'))
})

test('a CPU profile of an engine is OUTGROW_PROFILE_UNSUPPORTED', async () => {
  for (const kind of ['postgres-primary', 'postgres-ha', 'redis', 'pgbouncer', 'etcd'] as const) {
    await assert.rejects(profileStackProcess(() => ({ kind, process: undefined }), 'pg-1', { durationMs: 500 }), code('OUTGROW_PROFILE_UNSUPPORTED'))
  }
})

test('a CPU profile of an app instance that is not running is OUTGROW_PROFILE_FAILED', async () => {
  await assert.rejects(profileStackProcess(() => ({ kind: 'app', process: undefined }), 'app-1', { durationMs: 500 }), code('OUTGROW_PROFILE_FAILED'))
})
