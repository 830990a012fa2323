import cookie from '@fastify/cookie'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Session } from '../runtime/ports.js'
import { wantsSecureCookie, type SecureCookieSetting } from './cookie-security.js'
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
export interface SessionPluginOptions {
  readonly store: SessionStore
  readonly ttlSeconds: number
  readonly secure: SecureCookieSetting
  /** The host the app server is bound to: `secure: 'auto'` turns Secure on off loopback. */
  readonly listenHost: string
}

export const sessionPlugin = fp(async (app: FastifyInstance, options: SessionPluginOptions) => {
  await app.register(cookie)
  app.decorateRequest('session', null as unknown as Session)
  app.addHook('onRequest', async (request, reply) => {
    const raw = request.cookies[SESSION_COOKIE]
    const id = raw !== undefined && ID_PATTERN.test(raw) ? raw : undefined
    request.session = new RequestSession(options.store, id, (newId) => {
      if (newId === undefined) {
        void reply.clearCookie(SESSION_COOKIE, { path: '/' })
      } else {
        const secure = wantsSecureCookie(options.secure, options.listenHost, request.protocol)
        void reply.setCookie(SESSION_COOKIE, newId, {
          path: '/', httpOnly: true, sameSite: 'lax', secure, maxAge: options.ttlSeconds,
        })
      }
    })
  })
}, { name: 'outgrow-session' })
