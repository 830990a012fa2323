import type { ZodType, ZodTypeDef } from 'zod'
import { OutgrowError, firstZodIssue } from '../../src/index.js'

/** Parses request input; the first problem becomes a 400 naming the field. */
export function parse<T> (schema: ZodType<T, ZodTypeDef, unknown>, input: unknown): T {
  const result = schema.safeParse(input)
  if (result.success) return result.data
  const { field, message } = firstZodIssue(result.error, 'body')
  throw new OutgrowError('OUTGROW_VALIDATION', `${field}: ${message}`, { field })
}
