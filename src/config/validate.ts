import type { ZodError, ZodType, ZodTypeDef } from 'zod'
import { OutgrowError } from '../errors/index.js'

/**
 * The first issue of a failed parse, for a one-line message: the field is the issue's dotted
 * path (`healthCheck.intervalMs`), or `root` when the input as a whole is wrong.
 */
export function firstZodIssue (error: ZodError, root = '(root)'): { field: string, message: string } {
  const issue = error.issues[0]
  return {
    field: issue === undefined || issue.path.length === 0 ? root : issue.path.join('.'),
    message: issue?.message ?? 'invalid',
  }
}

/**
 * Parses input with a zod schema; on failure throws one OutgrowError whose message is a single
 * line naming the first bad field, e.g. `healthCheck.intervalMs: Expected number, received string`.
 */
export function parseOrThrow<T> (schema: ZodType<T, ZodTypeDef, unknown>, input: unknown, what: string): T {
  const result = schema.safeParse(input)
  if (result.success) return result.data
  const { field, message } = firstZodIssue(result.error)
  throw new OutgrowError('OUTGROW_CONFIG_INVALID', `invalid ${what}: ${field}: ${message}`, { field })
}
