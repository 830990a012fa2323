import assert from 'node:assert/strict'
import { test } from 'node:test'
import Fastify from 'fastify'
import { isReplicaRecoveryConflict, unavailableErrorFor } from '../../src/runtime/connection-errors.js'
import { installErrorHandling } from '../../src/runtime/http-errors.js'

const withCode = (message: string, code: string): Error => Object.assign(new Error(message), { code })

test('engine errors are told apart from bugs and name the missing part', () => {
  const cases: Array<[Error, string | undefined]> = [
    [new Error('Connection terminated unexpectedly'), 'OUTGROW_DB_UNAVAILABLE'],
    [withCode('terminating connection due to administrator command', '57P01'), 'OUTGROW_DB_UNAVAILABLE'],
    [withCode('the database system is starting up', '57P03'), 'OUTGROW_DB_UNAVAILABLE'],
    [withCode('canceling statement due to statement timeout', '57014'), 'OUTGROW_DB_UNAVAILABLE'],
    [new Error('timeout exceeded when trying to connect'), 'OUTGROW_DB_UNAVAILABLE'],
    [new Error("Stream isn't writeable and enableOfflineQueue options is false"), 'OUTGROW_DEPENDENCY_UNAVAILABLE'],
    [new Error('Command timed out'), 'OUTGROW_DEPENDENCY_UNAVAILABLE'],
    [withCode('connect ECONNREFUSED 127.0.0.1:6379', 'ECONNREFUSED'), 'OUTGROW_DEPENDENCY_UNAVAILABLE'],
    [withCode('relation "nope" does not exist', '42P01'), undefined],
    [new TypeError('cannot read properties of undefined'), undefined],
  ]
  for (const [err, code] of cases) assert.equal(unavailableErrorFor(err)?.code, code, err.message)
})

test('the HTTP error handler answers an escaped connection error with a retryable 503, a bug with a 500', async () => {
  const app = Fastify({ logger: false })
  installErrorHandling(app)
  app.get('/refused', async () => { throw withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED') })
  app.get('/dropped', async () => { throw new Error('Connection terminated unexpectedly') })
  app.get('/bug', async () => { throw new TypeError('oops') })
  const refused = await app.inject('/refused')
  assert.equal(refused.statusCode, 503)
  assert.equal(refused.headers['retry-after'], '1')
  assert.deepEqual(refused.json(), { error: { code: 'OUTGROW_DEPENDENCY_UNAVAILABLE', message: 'a dependency is unavailable', retryable: true } })
  const dropped = await app.inject('/dropped')
  assert.equal(dropped.statusCode, 503)
  assert.equal(dropped.json<{ error: { code: string } }>().error.code, 'OUTGROW_DB_UNAVAILABLE')
  assert.equal((await app.inject('/bug')).statusCode, 500)
  await app.close()
})

test('a replica cancelling a query for replay is a recovery conflict; a statement timeout is not', () => {
  assert.equal(isReplicaRecoveryConflict(withCode('canceling statement due to conflict with recovery', '40001')), true)
  assert.equal(isReplicaRecoveryConflict(withCode('canceling statement due to conflict with recovery', '57014')), true)
  assert.equal(isReplicaRecoveryConflict(withCode('canceling statement due to statement timeout', '57014')), false)
  assert.equal(isReplicaRecoveryConflict(withCode('could not serialize access due to concurrent update', '40001')), false)
})
