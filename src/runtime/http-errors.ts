import type { FastifyError, FastifyInstance } from 'fastify'
import { OutgrowError, isOutgrowError } from '../errors/index.js'
import { unavailableErrorFor } from './connection-errors.js'

/** Maps every failure to a JSON error body with a stable code; 5xx details never leak. */
export function installErrorHandling (app: FastifyInstance): void {
  app.setNotFoundHandler((request, reply) => {
    const err = new OutgrowError('OUTGROW_NOT_FOUND', `no route for ${request.method} ${request.url.split('?')[0] ?? ''}`)
    void reply.code(err.status).send(err.toJSON())
  })
  app.setErrorHandler((error: FastifyError | OutgrowError, request, reply) => {
    let err: OutgrowError
    if (isOutgrowError(error)) {
      err = error
    } else if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      err = new OutgrowError('OUTGROW_PAYLOAD_TOO_LARGE', error.message)
    } else if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      err = new OutgrowError('OUTGROW_UNSUPPORTED_MEDIA_TYPE', error.message)
    } else if (error.validation !== undefined) {
      err = new OutgrowError('OUTGROW_VALIDATION', error.message)
    } else if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      err = new OutgrowError('OUTGROW_BAD_REQUEST', error.message)
    } else {
      // An engine error that escaped its adapter is still a missing part, not a bug.
      const unavailable = unavailableErrorFor(error)
      if (unavailable === undefined) {
        request.log.error({ err: error }, 'unhandled error')
        err = new OutgrowError('OUTGROW_INTERNAL')
      } else {
        request.log.warn({ err: error }, unavailable.message)
        err = unavailable
      }
    }
    // A refusal that knows when it ends says so (a 429's details.retryAfterSeconds); 503s are short.
    const retryAfter = err.details?.retryAfterSeconds
    if (typeof retryAfter === 'number') void reply.header('retry-after', String(retryAfter))
    else if (err.status === 503) void reply.header('retry-after', '1')
    void reply.code(err.status).send(err.toJSON())
  })
}
