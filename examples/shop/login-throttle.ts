import { createHash } from 'node:crypto'
import { OutgrowError, type AttemptLimit, type RateLimiter } from '../../src/index.js'

/**
 * How many login and registration attempts the shop allows (OWASP Authentication Cheat Sheet:
 * throttle per account and per client). Counters are shared by every instance.
 */
export interface AuthLimits {
  /** Failed logins per account (known or not); a successful login resets it. Also caps registrations per e-mail. */
  readonly accountFailures: AttemptLimit
  /**
   * Per client address: failed logins (successful ones are taken back — a load generator or an
   * office behind one NAT logs many users in) and every registration (each costs a scrypt hash).
   */
  readonly clientAttempts: AttemptLimit
}

export const DEFAULT_AUTH_LIMITS: AuthLimits = {
  accountFailures: { max: 5, windowSeconds: 15 * 60 },
  clientAttempts: { max: 20, windowSeconds: 60 },
}

// E-mails are hashed in the keys: the counters' store is no place for personal data.
const accountKey = (kind: string, email: string): string => `${kind}-account:${createHash('sha256').update(email).digest('base64url')}`
const clientKey = (kind: string, ip: string): string => `${kind}-client:${ip}`

/** An attempt lets the request through or answers 429 OUTGROW_RATE_LIMITED with Retry-After. */
export class LoginThrottle {
  readonly #limiter: RateLimiter
  readonly #limits: AuthLimits

  constructor (limiter: RateLimiter, limits: AuthLimits) {
    this.#limiter = limiter
    this.#limits = limits
  }

  // Both counters take the attempt before the work is done, so concurrent attempts cannot slip past.
  async #hitBoth (kind: string, email: string, ip: string): Promise<void> {
    const [account, client] = await Promise.all([
      this.#limiter.hit(accountKey(kind, email), this.#limits.accountFailures),
      this.#limiter.hit(clientKey(kind, ip), this.#limits.clientAttempts),
    ])
    const refused = [account, client].filter((d) => !d.allowed)
    if (refused.length === 0) return
    const retryAfterSeconds = Math.max(...refused.map((d) => d.retryAfterSeconds))
    throw new OutgrowError('OUTGROW_RATE_LIMITED', `too many ${kind} attempts; try again in ${retryAfterSeconds} s`, { retryAfterSeconds })
  }

  /** Counts a login attempt against the account and the client; throws when either is over its limit. */
  async login (email: string, ip: string): Promise<{ succeeded(): Promise<void> }> {
    await this.#hitBoth('login', email, ip)
    return {
      // Only failures stay counted: the account starts over, the client gets its attempt back.
      succeeded: async () => {
        await Promise.all([this.#limiter.reset(accountKey('login', email)), this.#limiter.refund(clientKey('login', ip))])
      },
    }
  }

  /** Counts a registration attempt against the e-mail and the client; throws when either is over its limit. */
  async register (email: string, ip: string): Promise<void> {
    await this.#hitBoth('register', email, ip)
  }
}
