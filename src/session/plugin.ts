import cookie from '@fastify/cookie'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Session } from '../runtime/ports.js'
import { RequestSession } from './request-session.js'
import type { SessionStore } from './store.js'

declare module 'fastify' {
  interface FastifyRequest {
    session: Session
  }
}

export const SESSION_COOKIE = 'outgrow.sid'
const ID_PATTERN = /^[A-Za-z0-9_-]{32}$/

/** Gives every request a `request.session` backed by the configured store, keyed by a cookie. */
export const sessionPlugin = fp(async (app: FastifyInstance, options: { store: SessionStore, ttlSeconds: number, secure: boolean }) => {
  await app.register(cookie)
  app.decorateRequest('session', null as unknown as Session)
  app.addHook('onRequest', async (request, reply) => {
    const raw = request.cookies[SESSION_COOKIE]
    const id = raw !== undefined && ID_PATTERN.test(raw) ? raw : undefined
    request.session = new RequestSession(options.store, id, (newId) => {
      if (newId === undefined) {
        void reply.clearCookie(SESSION_COOKIE, { path: '/' })
      } else {
        void reply.setCookie(SESSION_COOKIE, newId, {
          path: '/', httpOnly: true, sameSite: 'lax', secure: options.secure, maxAge: options.ttlSeconds,
        })
      }
    })
  })
}, { name: 'outgrow-session' })
