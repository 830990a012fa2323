import assert from 'node:assert/strict'
import { test } from 'node:test'
import { bearerTokenMatches } from '../../src/config/admin-token.js'
import { startControlApi } from '../../src/control/api.js'
import type { Stack } from '../../src/control/stack.js'

test('a bearer token matches only the exact token', () => {
  const token = 'a-long-enough-secret'
  assert.equal(bearerTokenMatches(`Bearer ${token}`, token), true)
  assert.equal(bearerTokenMatches(`bearer  ${token}`, token), true, 'the scheme is case-insensitive')
  assert.equal(bearerTokenMatches(token, token), true, 'the scheme may be left out')
  assert.equal(bearerTokenMatches(undefined, token), false)
  assert.equal(bearerTokenMatches('', token), false)
  assert.equal(bearerTokenMatches('Bearer ', token), false)
  assert.equal(bearerTokenMatches(`Bearer ${token}x`, token), false)
  assert.equal(bearerTokenMatches(`Bearer ${token.slice(0, -1)}`, token), false)
  assert.equal(bearerTokenMatches(`Bearer ${token.toUpperCase()}`, token), false)
})

test('the control API answers only requests with its token', async (t) => {
  const stack = { spec: { level: 1 } } as unknown as Stack
  const api = await startControlApi({ stack, token: 'control-token-123' })
  t.after(async () => { await api.close() })
  const get = async (headers: Record<string, string>): Promise<number> => (await fetch(`${api.url}/v1/spec`, { headers })).status
  assert.equal(await get({}), 401)
  assert.equal(await get({ authorization: 'Bearer wrong-token-123' }), 401)
  assert.equal(await get({ authorization: 'Bearer control-token-123' }), 200)
})

test('the control API refuses a bad body with 400 naming the first bad field', async (t) => {
  const stack = { spec: { level: 1 } } as unknown as Stack
  const api = await startControlApi({ stack, token: 'control-token-123' })
  t.after(async () => { await api.close() })
  const scale = async (body: unknown): Promise<{ status: number, message: string }> => {
    const response = await fetch(`${api.url}/v1/scale`, { method: 'POST', headers: { authorization: 'Bearer control-token-123', 'content-type': 'application/json' }, body: JSON.stringify(body) })
    const { error } = await response.json() as { error: { message: string } }
    return { status: response.status, message: error.message }
  }
  assert.deepEqual(await scale({ targets: { app: -1 } }), { status: 400, message: 'targets.app: Number must be greater than or equal to 0' })
  assert.deepEqual(await scale({ targets: {} }), { status: 400, message: 'targets: name at least one group' })
  assert.deepEqual(await scale({ targets: { app: 1 }, wait: true }), { status: 400, message: "body: Unrecognized key(s) in object: 'wait'" })
})
