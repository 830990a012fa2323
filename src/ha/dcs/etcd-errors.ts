import { isBrokenCircuitError } from 'cockatiel'
import { ClientClosedError, EtcdLeaseInvalidError, isRecoverableError } from 'etcd3'
import { OutgrowError } from '../../errors/index.js'
import type { KeyValue } from './etcd-kv.js'

/**
 * The two ways a call of the etcd client fails that its callers decide on:
 * - unreachable (`OUTGROW_DCS_UNAVAILABLE`): no member answered in time, or none had a quorum to
 *   answer with; whether a write took effect is unknown;
 * - precondition failed (`OUTGROW_DCS_PRECONDITION_FAILED`): etcd answered and the conditional
 *   write did not apply; `details` says why and what the key holds now.
 * Anything else (a malformed request) is a bug and passes through unchanged.
 */
export type PreconditionReason = 'exists' | 'revision' | 'value' | 'lease-not-found'

export function preconditionFailed (key: string, reason: PreconditionReason, current: KeyValue | undefined): OutgrowError {
  const what = { exists: 'already exists', revision: 'is at another revision', value: 'holds another value', 'lease-not-found': 'names a lease that has expired' }[reason]
  return new OutgrowError('OUTGROW_DCS_PRECONDITION_FAILED', `etcd key ${key} ${what}`, { key, reason, current })
}

export const isUnreachable = (err: unknown): boolean => err instanceof OutgrowError && err.code === 'OUTGROW_DCS_UNAVAILABLE'
export const isPreconditionFailed = (err: unknown): err is OutgrowError & { details: { key: string, reason: PreconditionReason, current: KeyValue | undefined } } =>
  err instanceof OutgrowError && err.code === 'OUTGROW_DCS_PRECONDITION_FAILED'

/** Maps what etcd3 (and its fault-handling policies) throw onto the two kinds above. */
export function translate (err: unknown, key: string): unknown {
  if (err instanceof OutgrowError) return err
  if (err instanceof EtcdLeaseInvalidError) return preconditionFailed(key, 'lease-not-found', undefined)
  if (err instanceof Error && (isRecoverableError(err) || isBrokenCircuitError(err) || err instanceof ClientClosedError)) {
    return new OutgrowError('OUTGROW_DCS_UNAVAILABLE', `etcd unreachable (${key}): ${err.message.split('\n')[0] ?? ''}`, { key }, { cause: err })
  }
  return err
}

/** Runs one etcd call, translating its failure. */
export async function call<T> (key: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    throw translate(err, key)
  }
}
