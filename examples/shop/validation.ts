import type { ZodType, ZodTypeDef } from 'zod'
import { OutgrowError } from '../../src/index.js'

/** Parses request input; the first problem becomes a 400 naming the field. */
export function parse<T> (schema: ZodType<T, ZodTypeDef, unknown>, input: unknown): T {
  const result = schema.safeParse(input)
  if (result.success) return result.data
  const issue = result.error.issues[0]
  const field = issue === undefined || issue.path.length === 0 ? 'body' : issue.path.join('.')
  throw new OutgrowError('OUTGROW_VALIDATION', `${field}: ${issue?.message ?? 'invalid'}`, { field })
}
