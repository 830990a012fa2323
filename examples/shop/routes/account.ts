import type { FastifyInstance, FastifyRequest } from 'fastify'
import { z } from 'zod'
import { OutgrowError, type Ports } from '../../../src/index.js'
import { checkPassword, scryptHasher, type PasswordHasher } from '../credentials.js'
import { DEFAULT_AUTH_LIMITS, LoginThrottle, type AuthLimits } from '../login-throttle.js'
import { lastWrite, rememberWrite } from '../read-your-writes.js'
import { parse } from '../validation.js'

const credentials = z.object({
  email: z.string().trim().toLowerCase().email().max(254),
  password: z.string().min(8).max(200),
}).strict()

const registration = credentials.extend({ name: z.string().trim().min(1).max(100) }).strict()

export async function currentUserId (request: FastifyRequest): Promise<number> {
  const userId = await request.session.get<number>('userId')
  if (userId === undefined) throw new OutgrowError('OUTGROW_UNAUTHENTICATED')
  return userId
}

export interface AccountOptions {
  readonly limits?: AuthLimits
  readonly hasher?: PasswordHasher
}

export function accountRoutes (app: FastifyInstance, ports: Ports, options: AccountOptions = {}): void {
  const throttle = new LoginThrottle(ports.rateLimiter, options.limits ?? DEFAULT_AUTH_LIMITS)
  const hasher = options.hasher ?? scryptHasher

  app.post('/api/register', async (request, reply) => {
    const input = parse(registration, request.body)
    // request.ip is the client's address, also behind the gateway (the app trusts its X-Forwarded-For).
    await throttle.register(input.email, request.ip)
    const passwordHash = await hasher.hash(input.password)
    const result = await ports.db.write<{ id: number }>(
      'INSERT INTO users (email, name, password_hash) VALUES ($1, $2, $3) ON CONFLICT (email) DO NOTHING RETURNING id',
      [input.email, input.name, passwordHash])
    const user = result.rows[0]
    if (user === undefined) throw new OutgrowError('OUTGROW_CONFLICT', 'email is already registered', { field: 'email' })
    await request.session.regenerate()
    await request.session.set('userId', user.id)
    await rememberWrite(request.session, result.position)
    return await reply.code(201).send({ id: user.id, email: input.email, name: input.name })
  })

  app.post('/api/login', async (request) => {
    const input = parse(credentials, request.body)
    const attempt = await throttle.login(input.email, request.ip)
    // Logins read the primary: a user who just registered must be able to log in at once.
    const result = await ports.db.read<{ id: number, name: string, password_hash: string }>(
      'SELECT id, name, password_hash FROM users WHERE email = $1', [input.email], { primary: true })
    const user = result.rows[0]
    const check = await checkPassword(input.password, user?.password_hash, hasher)
    if (user === undefined || !check.ok) throw new OutgrowError('OUTGROW_UNAUTHENTICATED', 'wrong email or password')
    await attempt.succeeded()
    if (check.upgradedHash !== undefined) {
      // Only if unchanged since it was read: a concurrent password change wins.
      await ports.db.write('UPDATE users SET password_hash = $2 WHERE id = $1 AND password_hash = $3', [user.id, check.upgradedHash, user.password_hash])
    }
    // A new session id on login defeats session fixation; the cart comes along.
    await request.session.regenerate()
    await request.session.set('userId', user.id)
    return { id: user.id, email: input.email, name: user.name }
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
