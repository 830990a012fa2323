import type { FastifyInstance, FastifyReply } from 'fastify'
import type { Ports } from '../../../src/index.js'
import { Accounts, credentials, registration, type AccountOptions } from '../accounts.js'
import { renderLoginBody, renderRegisterBody, type FormState } from '../html/account-pages.js'
import { viewerLinks } from '../html/layout.js'
import { parse } from '../validation.js'
import { refusal, sendPage } from './html-scope.js'
import { field, safeNext, viewerOf } from './viewer.js'

/** Register, log in and log out as HTML forms, with the JSON API's rules and throttles (Accounts). */
export function accountPageRoutes (app: FastifyInstance, ports: Ports, options: AccountOptions): void {
  const accounts = new Accounts(ports, options)
  const form = async (reply: FastifyReply, kind: 'login' | 'register', state: FormState, session: Parameters<typeof viewerOf>[0], status = 200): Promise<FastifyReply> => {
    const viewer = await viewerOf(session)
    const body = kind === 'login' ? renderLoginBody(state) : renderRegisterBody(state)
    return await sendPage(reply, { title: kind === 'login' ? 'Log in' : 'Register', body, account: viewerLinks(viewer) }, status)
  }

  app.get('/login', async (request, reply) => await form(reply, 'login', { next: safeNext((request.query as Record<string, unknown>).next) }, request.session))
  app.get('/register', async (request, reply) => await form(reply, 'register', { next: safeNext((request.query as Record<string, unknown>).next) }, request.session))

  app.post('/login', async (request, reply) => {
    const next = safeNext(field(request.body, 'next'))
    const email = field(request.body, 'email')
    try {
      await accounts.login(request.session, request.ip, parse(credentials, { email, password: field(request.body, 'password') }))
    } catch (err) {
      const { status, message } = refusal(err)
      return await form(reply, 'login', { error: message, email, next }, request.session, status)
    }
    return await reply.redirect(next, 303)
  })

  app.post('/register', async (request, reply) => {
    const next = safeNext(field(request.body, 'next'))
    const email = field(request.body, 'email')
    const name = field(request.body, 'name')
    try {
      await accounts.register(request.session, request.ip, parse(registration, { email, name, password: field(request.body, 'password') }))
    } catch (err) {
      const { status, message } = refusal(err)
      return await form(reply, 'register', { error: message, email, name, next }, request.session, status)
    }
    return await reply.redirect(next, 303)
  })

  app.post('/logout', async (request, reply) => {
    await request.session.destroy()
    return await reply.redirect('/', 303)
  })
}
