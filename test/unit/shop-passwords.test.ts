import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { checkPassword, dummyHash, type PasswordHasher } from '../../examples/shop/credentials.js'
import { hashPassword, needsRehash, verifyPassword } from '../../examples/shop/passwords.js'
import { DEMO_PASSWORD, DEMO_PASSWORD_HASH } from '../../examples/shop/seed.js'

const CHEAP = { N: 2 ** 10, r: 8, p: 1 }

describe('password hashes', () => {
  it('are scrypt at OWASP cost (N=2^17, r=8, p=1) with their parameters stored', async () => {
    const hash = await hashPassword('correct horse')
    assert.match(hash, /^scrypt\$131072\$8\$1\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/)
    assert.equal(await verifyPassword('correct horse', hash), true)
    assert.equal(await verifyPassword('wrong horse', hash), false)
    assert.equal(needsRehash(hash), false)
  })

  it('the seeded users share a precomputed hash of the demo password at the current cost', async () => {
    assert.equal(needsRehash(DEMO_PASSWORD_HASH), false)
    assert.equal(await verifyPassword(DEMO_PASSWORD, DEMO_PASSWORD_HASH), true)
  })

  it('hashes made with other parameters still verify and ask to be rehashed', async () => {
    const old = await hashPassword('pw-123456', CHEAP)
    assert.match(old, /^scrypt\$1024\$8\$1\$/)
    assert.equal(await verifyPassword('pw-123456', old), true)
    assert.equal(needsRehash(old), true)
    assert.equal(needsRehash(old, CHEAP), false)
  })

  it('malformed or absurd stored parameters fail verification instead of allocating', async () => {
    const good = await hashPassword('pw-123456', CHEAP)
    const [, , r, p, salt, key] = good.split('$')
    for (const stored of ['', 'bcrypt$x', `scrypt$${2 ** 30}$${r}$${p}$${salt}$${key}`, `scrypt$1000$${r}$${p}$${salt}$${key}`, `${good}$extra`]) {
      assert.equal(await verifyPassword('pw-123456', stored), false, stored)
      assert.equal(needsRehash(stored), true)
    }
  })

  it('hashing runs off the event loop', async () => {
    let turns = 0
    let hashing = true
    const spin = (): void => { if (hashing) { turns++; setImmediate(spin) } }
    setImmediate(spin)
    await hashPassword('pw-123456', { N: 2 ** 14, r: 8, p: 1 })
    hashing = false
    assert.ok(turns > 0, 'the event loop turned while scrypt ran')
  })
})

/** A hasher that records what it was asked to verify; `verifies` says what verify answers. */
function spyHasher (verifies: boolean, rehash = false): PasswordHasher & { verified: Array<[string, string]>, hashed: string[] } {
  const verified: Array<[string, string]> = []
  const hashed: string[] = []
  return {
    verified,
    hashed,
    hash: async (password) => { hashed.push(password); return `hash-of-${password}` },
    verify: async (password, stored) => { verified.push([password, stored]); return verifies },
    needsRehash: () => rehash,
  }
}

describe('login password check', () => {
  it('an unknown e-mail runs the same verify, on the dummy hash, and never succeeds', async () => {
    const hasher = spyHasher(true)
    const dummy = await dummyHash(hasher)
    assert.deepEqual(await checkPassword('guess-1234', undefined, hasher), { ok: false })
    assert.deepEqual(hasher.verified, [['guess-1234', dummy]])
  })

  it('a known e-mail runs verify once on its own hash', async () => {
    const hasher = spyHasher(false)
    assert.deepEqual(await checkPassword('guess-1234', 'stored-hash', hasher), { ok: false })
    assert.deepEqual(hasher.verified, [['guess-1234', 'stored-hash']])
  })

  it('the dummy hash is made once per process, with the current parameters', async () => {
    const hasher = spyHasher(false)
    await checkPassword('a-12345678', undefined, hasher)
    await checkPassword('b-12345678', undefined, hasher)
    assert.equal(hasher.hashed.length, 1)
    assert.equal(hasher.verified[0]?.[1], hasher.verified[1]?.[1])
    assert.equal(needsRehash(await dummyHash()), false)
  })

  it('a right password on an outdated hash comes back with an upgraded hash', async () => {
    assert.deepEqual(await checkPassword('right-1234', 'old-hash', spyHasher(true, true)), { ok: true, upgradedHash: 'hash-of-right-1234' })
    assert.deepEqual(await checkPassword('right-1234', 'current-hash', spyHasher(true, false)), { ok: true })
  })
})
