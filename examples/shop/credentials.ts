import { randomBytes } from 'node:crypto'
import { hashPassword, needsRehash, verifyPassword } from './passwords.js'

export interface PasswordHasher {
  hash(password: string): Promise<string>
  verify(password: string, stored: string): Promise<boolean>
  needsRehash(stored: string): boolean
}

export const scryptHasher: PasswordHasher = { hash: hashPassword, verify: verifyPassword, needsRehash: (stored) => needsRehash(stored) }

export interface PasswordCheck {
  readonly ok: boolean
  /** Set when the password was right but its hash uses old parameters: store this one instead. */
  readonly upgradedHash?: string
}

const dummyHashes = new WeakMap<PasswordHasher, Promise<string>>()

/**
 * A hash of a random password with the current parameters, made once per process. Unknown
 * e-mails are verified against it, so they cost the same time as a wrong password.
 */
export async function dummyHash (hasher: PasswordHasher = scryptHasher): Promise<string> {
  let hash = dummyHashes.get(hasher)
  if (hash === undefined) {
    hash = hasher.hash(randomBytes(16).toString('base64url'))
    dummyHashes.set(hasher, hash)
    // A failed attempt is not kept: the next login tries again.
    hash.catch(() => { dummyHashes.delete(hasher) })
  }
  return await hash
}

/**
 * Checks a login's password against the user's stored hash, or — for an unknown e-mail
 * (`stored` undefined) — against the dummy hash, with the same verify: the answer's timing does
 * not tell whether the account exists (OWASP Authentication Cheat Sheet).
 */
export async function checkPassword (password: string, stored: string | undefined, hasher: PasswordHasher = scryptHasher): Promise<PasswordCheck> {
  const matches = await hasher.verify(password, stored ?? await dummyHash(hasher))
  if (stored === undefined || !matches) return { ok: false }
  return hasher.needsRehash(stored) ? { ok: true, upgradedHash: await hasher.hash(password) } : { ok: true }
}
