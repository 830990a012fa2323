import type { ZodType, ZodTypeDef } from 'zod'
import { OutgrowError } from '../errors/index.js'

/**
 * Parses input with a zod schema; on failure throws one OutgrowError whose message is a single
 * line naming the first bad field, e.g. `healthCheck.intervalMs: Expected number, received string`.
 */
export function parseOrThrow<T> (schema: ZodType<T, ZodTypeDef, unknown>, input: unknown, what: string): T {
  const result = schema.safeParse(input)
  if (result.success) return result.data
  const issue = result.error.issues[0]
  const field = issue === undefined || issue.path.length === 0 ? '(root)' : issue.path.join('.')
  const message = issue?.message ?? 'invalid'
  throw new OutgrowError('OUTGROW_CONFIG_INVALID', `invalid ${what}: ${field}: ${message}`, { field })
}
