import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto'

export interface ScryptParameters {
  readonly N: number
  readonly r: number
  readonly p: number
}

/** OWASP Password Storage Cheat Sheet's scrypt configuration: N = 2^17, r = 8, p = 1. */
export const SCRYPT_PARAMETERS: ScryptParameters = { N: 2 ** 17, r: 8, p: 1 }

const KEY_LENGTH = 32
const SALT_LENGTH = 16
// Bounds for parameters read back from the database, so a corrupted row cannot make one login
// allocate gigabytes: 128·N·r·p bytes at most 1 GiB.
const MAX_MEMORY = 2 ** 30

/** scrypt needs 128·N·r·p bytes; Node refuses more than maxmem (32 MiB by default). */
const maxmemFor = (params: ScryptParameters): number => 128 * params.N * params.r * params.p + 32 * 1024 * 1024

// The callback API runs on libuv's thread pool: ~100 ms of CPU per hash that the event loop does not wait for.
function derive (password: string, salt: Buffer, params: ScryptParameters): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_LENGTH, { ...params, maxmem: maxmemFor(params) }, (err, key) => {
      if (err !== null) reject(err)
      else resolve(key)
    })
  })
}

/** `scrypt$N$r$p$salt$hash`: the parameters travel with the hash, so they can be raised later. */
export async function hashPassword (password: string, params: ScryptParameters = SCRYPT_PARAMETERS): Promise<string> {
  const salt = randomBytes(SALT_LENGTH)
  const key = await derive(password, salt, params)
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64')}$${key.toString('base64')}`
}

interface ParsedHash { readonly params: ScryptParameters, readonly salt: Buffer, readonly key: Buffer }

function parseHash (stored: string): ParsedHash | undefined {
  const [scheme, n, r, p, salt, key, ...rest] = stored.split('$')
  if (scheme !== 'scrypt' || salt === undefined || key === undefined || rest.length > 0) return undefined
  const params = { N: Number(n), r: Number(r), p: Number(p) }
  const valid = [params.N, params.r, params.p].every((v) => Number.isSafeInteger(v) && v > 0) &&
    params.N > 1 && (params.N & (params.N - 1)) === 0 && 128 * params.N * params.r * params.p <= MAX_MEMORY
  return valid ? { params, salt: Buffer.from(salt, 'base64'), key: Buffer.from(key, 'base64') } : undefined
}

export async function verifyPassword (password: string, stored: string): Promise<boolean> {
  const parsed = parseHash(stored)
  if (parsed === undefined) return false
  const actual = await derive(password, parsed.salt, parsed.params)
  return actual.length === parsed.key.length && timingSafeEqual(actual, parsed.key)
}

/** A hash made with other parameters than the current ones: rehash it at the next login. */
export function needsRehash (stored: string, params: ScryptParameters = SCRYPT_PARAMETERS): boolean {
  const parsed = parseHash(stored)
  return parsed === undefined || parsed.params.N !== params.N || parsed.params.r !== params.r || parsed.params.p !== params.p
}
