import type { FastifyInstance, FastifyRequest } from 'fastify'
import { OutgrowError, type Ports } from '../../../src/index.js'
import { Accounts, credentials, registration, type AccountOptions } from '../accounts.js'
import { lastWrite } from '../read-your-writes.js'
import { parse } from '../validation.js'

export type { AccountOptions } from '../accounts.js'

export async function currentUserId (request: FastifyRequest): Promise<number> {
  return userIdOf({ userId: await request.session.get<number>('userId') })
}

/** The logged-in user's id among a session's fields (a route that reads the whole session anyway). */
export function userIdOf (fields: Record<string, unknown>): number {
  const userId = fields.userId
  if (typeof userId !== 'number') throw new OutgrowError('OUTGROW_UNAUTHENTICATED')
  return userId
}

export function accountRoutes (app: FastifyInstance, ports: Ports, options: AccountOptions = {}): void {
  const accounts = new Accounts(ports, options)

  app.post('/api/register', async (request, reply) => {
    const input = parse(registration, request.body)
    return await reply.code(201).send(await accounts.register(request.session, request.ip, input))
  })

  app.post('/api/login', async (request) => {
    const input = parse(credentials, request.body)
    return await accounts.login(request.session, request.ip, input)
  })

  app.post('/api/logout', async (request) => {
    await request.session.destroy()
    return { ok: true }
  })

  app.get('/api/me', async (request) => {
    const userId = await currentUserId(request)
    const result = await ports.db.read<{ id: number, email: string, name: string }>('SELECT id, email, name FROM users WHERE id = $1', [userId], { after: await lastWrite(request.session) })
    return result.rows[0] ?? {}
  })
}
