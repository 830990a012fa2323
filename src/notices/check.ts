import { OutgrowError } from '../errors/index.js'
import type { JsonValue } from '../runtime/ports.js'
import { NOTICE_AUDIENCE, NOTICE_TYPE } from './notices.js'

/** A notice's size limit: notices are signals, not documents. */
export const NOTICE_MAX_BYTES = 16 * 1024

/** Refuses a bad audience, type or payload with OUTGROW_VALIDATION naming which. */
export function checkNotice (audience: string, type?: string, data?: JsonValue): string | undefined {
  if (!NOTICE_AUDIENCE.test(audience)) throw new OutgrowError('OUTGROW_VALIDATION', `notice audience must match ${NOTICE_AUDIENCE.source}`, { field: 'audience' })
  if (type !== undefined && !NOTICE_TYPE.test(type)) throw new OutgrowError('OUTGROW_VALIDATION', `notice type must match ${NOTICE_TYPE.source}`, { field: 'type' })
  if (type === undefined) return undefined
  let json: string | undefined
  try { json = JSON.stringify(data) } catch { json = undefined }
  if (json === undefined) throw new OutgrowError('OUTGROW_VALIDATION', 'notice data must be JSON', { field: 'data' })
  if (Buffer.byteLength(json) > NOTICE_MAX_BYTES) throw new OutgrowError('OUTGROW_VALIDATION', `notice data over ${NOTICE_MAX_BYTES} bytes`, { field: 'data' })
  return json
}
