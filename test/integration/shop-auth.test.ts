import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { PasswordHasher } from '../../examples/shop/credentials.js'
import type { AuthLimits } from '../../examples/shop/login-throttle.js'
import { hashPassword, needsRehash, verifyPassword } from '../../examples/shop/passwords.js'
import { accountRoutes } from '../../examples/shop/routes/account.js'
import type { SessionConfig } from '../../src/config/process-config.js'
import { defineService } from '../../src/runtime/service.js'
import { startEngines, type TestEngines } from '../helpers/engines.js'
import { startShop, type ShopUnderTest } from '../helpers/shop.js'

// Cheap scrypt parameters: these tests are about throttling and upgrades, not about the cost.
const OLD = { N: 2 ** 10, r: 8, p: 1 }
const CURRENT = { N: 2 ** 11, r: 8, p: 1 }
const hasher: PasswordHasher = {
  hash: async (password) => await hashPassword(password, CURRENT),
  verify: verifyPassword,
  needsRehash: (stored) => needsRehash(stored, CURRENT),
}
const limits: AuthLimits = { accountFailures: { max: 3, windowSeconds: 900 }, clientAttempts: { max: 6, windowSeconds: 60 } }
const PASSWORD = 'right-password'

let engines: TestEngines
before(async () => { engines = await startEngines({ redis: true }) })
after(async () => { await engines.stop() })

/** Logins and registrations are limited alike with sessions (and counters) in memory and in Redis. */
for (const variant of ['memory', 'redis'] as const) {
  describe(`login and register throttling, ${variant} counters`, () => {
    let shop: ShopUnderTest
    let nextIp = 0
    const freshIp = (): string => `10.0.${variant === 'memory' ? 1 : 2}.${++nextIp}`
    const email = (name: string): string => `${variant}-${name}@example.com`

    const post = async (url: string, body: unknown, ip: string): Promise<{ status: number, code: string | undefined, retryAfter: string | undefined }> => {
      const response = await shop.app.inject({ method: 'POST', url, payload: body as object, remoteAddress: ip })
      const code = response.json<{ error?: { code: string } }>().error?.code
      return { status: response.statusCode, code, retryAfter: response.headers['retry-after'] }
    }
    const login = async (who: string, password: string, ip = freshIp()): ReturnType<typeof post> => await post('/api/login', { email: email(who), password }, ip)
    const addUser = async (who: string, hash?: string): Promise<void> => {
      await shop.db.write('INSERT INTO users (email, name, password_hash) VALUES ($1, $2, $3)', [email(who), who, hash ?? await hasher.hash(PASSWORD)])
    }

    before(async () => {
      const redisUrl = engines.redis?.url as string
      const session: SessionConfig = variant === 'memory' ? { kind: 'memory', ttlSeconds: 3600 } : { kind: 'redis', url: redisUrl, ttlSeconds: 3600 }
      const service = defineService({ name: 'accounts', routes (app, ports) { accountRoutes(app, ports, { limits, hasher }) } })
      shop = await startShop({ primary: engines.primary.url, cache: { kind: 'memory', maxEntries: 100 }, session, service, products: 10, users: 0 })
      for (const who of ['alice', 'bob', 'carol', 'dave']) await addUser(who)
    })
    after(async () => { await shop.close() })

    it('after N failed logins for one account, even from many clients, it answers 429 with Retry-After', async () => {
      for (let i = 0; i < 3; i++) assert.equal((await login('alice', 'wrong-password')).status, 401)
      const refused = await login('alice', PASSWORD)
      assert.equal(refused.status, 429)
      assert.equal(refused.code, 'OUTGROW_RATE_LIMITED')
      const seconds = Number(refused.retryAfter)
      assert.ok(seconds >= 1 && seconds <= 900, `Retry-After ${refused.retryAfter}`)
      assert.equal((await login('bob', PASSWORD)).status, 200, 'other accounts are unaffected')
    })

    it('unknown e-mails are limited the same way (a lockout does not reveal that an account exists)', async () => {
      for (let i = 0; i < 3; i++) assert.equal((await login('nobody', 'wrong-password')).status, 401)
      assert.equal((await login('nobody', 'wrong-password')).status, 429)
    })

    it('a successful login resets the account’s failures', async () => {
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 2; i++) assert.equal((await login('carol', 'wrong-password')).status, 401)
        assert.equal((await login('carol', PASSWORD)).status, 200)
      }
    })

    it('after M failed attempts from one client it answers 429; successful logins do not use the budget up', async () => {
      const ip = freshIp()
      for (let i = 0; i < 8; i++) assert.equal((await login('dave', PASSWORD, ip)).status, 200)
      for (let i = 0; i < 6; i++) assert.equal((await login(`stranger-${i}`, 'wrong-password', ip)).status, 401)
      const refused = await login('dave', PASSWORD, ip)
      assert.equal(refused.status, 429)
      assert.ok(Number(refused.retryAfter) >= 1 && Number(refused.retryAfter) <= 60)
      assert.equal((await login('dave', PASSWORD)).status, 200, 'other clients are unaffected')
    })

    it('registrations are limited per client and per e-mail', async () => {
      const ip = freshIp()
      for (let i = 0; i < 6; i++) assert.equal((await post('/api/register', { email: email(`new-${i}`), password: PASSWORD, name: 'New' }, ip)).status, 201)
      const refused = await post('/api/register', { email: email('new-6'), password: PASSWORD, name: 'New' }, ip)
      assert.equal(refused.status, 429)
      assert.equal(refused.code, 'OUTGROW_RATE_LIMITED')
      for (let i = 0; i < 3; i++) assert.equal((await post('/api/register', { email: email('taken'), password: PASSWORD, name: 'T' }, freshIp())).status, i === 0 ? 201 : 409)
      assert.equal((await post('/api/register', { email: email('taken'), password: PASSWORD, name: 'T' }, freshIp())).status, 429)
    })

    it('a login upgrades a hash made with old parameters; the upgraded hash keeps working', async () => {
      await addUser('erin', await hashPassword(PASSWORD, OLD))
      assert.equal((await login('erin', PASSWORD)).status, 200)
      const stored = await shop.db.read<{ password_hash: string }>('SELECT password_hash FROM users WHERE email = $1', [email('erin')], { primary: true })
      const hash = stored.rows[0]?.password_hash ?? ''
      assert.match(hash, /^scrypt\$2048\$8\$1\$/)
      assert.equal((await login('erin', PASSWORD)).status, 200)
      assert.equal((await login('erin', 'wrong-password')).status, 401)
    })
  })
}
