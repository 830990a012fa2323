import { z } from 'zod'
import { OutgrowError, type Ports, type Session } from '../../src/index.js'
import { checkPassword, scryptHasher, type PasswordHasher } from './credentials.js'
import { DEFAULT_AUTH_LIMITS, LoginThrottle, type AuthLimits } from './login-throttle.js'
import { rememberWrite } from './read-your-writes.js'

export const credentials = z.object({
  email: z.string().trim().toLowerCase().email().max(254),
  password: z.string().min(8).max(200),
}).strict()

export const registration = credentials.extend({ name: z.string().trim().min(1).max(100) }).strict()

export type Credentials = z.output<typeof credentials>
export type Registration = z.output<typeof registration>

export interface AccountOptions {
  readonly limits?: AuthLimits
  readonly hasher?: PasswordHasher
}

export interface Account { readonly id: number, readonly email: string, readonly name: string }

/** The session field holding the user's name, so pages can greet without a database read. */
export const USER_NAME = 'userName'

/**
 * Registration and login, shared by the JSON API and the HTML forms: the same throttles (their
 * counters live in the rateLimiter port, so both paths count against the same limits) and hashes.
 */
export class Accounts {
  readonly #ports: Ports
  readonly #throttle: LoginThrottle
  readonly #hasher: PasswordHasher

  constructor (ports: Ports, options: AccountOptions = {}) {
    this.#ports = ports
    this.#throttle = new LoginThrottle(ports.rateLimiter, options.limits ?? DEFAULT_AUTH_LIMITS)
    this.#hasher = options.hasher ?? scryptHasher
  }

  /** `ip` is the client's address, also behind the gateway (the app trusts its X-Forwarded-For). */
  async register (session: Session, ip: string, input: Registration): Promise<Account> {
    await this.#throttle.register(input.email, ip)
    const passwordHash = await this.#hasher.hash(input.password)
    const result = await this.#ports.db.write<{ id: number }>(
      'INSERT INTO users (email, name, password_hash) VALUES ($1, $2, $3) ON CONFLICT (email) DO NOTHING RETURNING id',
      [input.email, input.name, passwordHash])
    const user = result.rows[0]
    if (user === undefined) throw new OutgrowError('OUTGROW_CONFLICT', 'email is already registered', { field: 'email' })
    await signIn(session, user.id, input.name)
    await rememberWrite(session, result.position)
    return { id: user.id, email: input.email, name: input.name }
  }

  async login (session: Session, ip: string, input: Credentials): Promise<Account> {
    const attempt = await this.#throttle.login(input.email, ip)
    // Logins read the primary: a user who just registered must be able to log in at once.
    const result = await this.#ports.db.read<{ id: number, name: string, password_hash: string }>(
      'SELECT id, name, password_hash FROM users WHERE email = $1', [input.email], { primary: true })
    const user = result.rows[0]
    const check = await checkPassword(input.password, user?.password_hash, this.#hasher)
    if (user === undefined || !check.ok) throw new OutgrowError('OUTGROW_UNAUTHENTICATED', 'wrong email or password')
    await attempt.succeeded()
    if (check.upgradedHash !== undefined) {
      // Only if unchanged since it was read: a concurrent password change wins.
      await this.#ports.db.write('UPDATE users SET password_hash = $2 WHERE id = $1 AND password_hash = $3', [user.id, check.upgradedHash, user.password_hash])
    }
    await signIn(session, user.id, user.name)
    return { id: user.id, email: input.email, name: user.name }
  }
}

// A new session id on login defeats session fixation; the cart comes along.
async function signIn (session: Session, userId: number, name: string): Promise<void> {
  await session.regenerate()
  await session.set('userId', userId)
  await session.set(USER_NAME, name)
}
