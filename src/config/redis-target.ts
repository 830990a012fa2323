import { z } from 'zod'

/**
 * Where a process finds a Redis, in its config: a `url`, or the `sentinels` that know the current
 * master of the group `name` (a `url` beside them gives only user, password, database and TLS).
 * Spread into an adapter's object schema and checked with checkRedisTarget.
 */
export const redisTargetFields = {
  url: z.string().min(1).optional(),
  sentinels: z.array(z.object({ host: z.string().min(1), port: z.number().int().min(1).max(65_535) }).strict()).min(1).optional(),
  /** The master group's name in the Sentinels' configuration. */
  name: z.string().min(1).optional(),
}

interface RedisTargetInput {
  readonly url?: string | undefined
  readonly sentinels?: ReadonlyArray<{ readonly host: string, readonly port: number }> | undefined
  readonly name?: string | undefined
}

/** A url, or sentinels with a name: anything else is one issue naming the field. */
export function checkRedisTarget (value: RedisTargetInput, ctx: z.RefinementCtx): void {
  if (value.sentinels === undefined && value.url === undefined) ctx.addIssue({ code: 'custom', path: ['url'], message: 'name the Redis: a url, or sentinels and the master name' })
  if (value.sentinels !== undefined && value.name === undefined) ctx.addIssue({ code: 'custom', path: ['name'], message: 'sentinels need the master group name they watch' })
  if (value.sentinels === undefined && value.name !== undefined) ctx.addIssue({ code: 'custom', path: ['sentinels'], message: 'a master name needs the sentinels that watch it' })
}

/** The target of a checked config, as createRedisClient takes it. */
export function redisTargetOf (value: RedisTargetInput): string | { url?: string | undefined, sentinels: ReadonlyArray<{ host: string, port: number }>, name: string } {
  if (value.sentinels !== undefined && value.name !== undefined) return { url: value.url, sentinels: value.sentinels, name: value.name }
  if (value.url === undefined) throw new Error('a Redis target without url or sentinels')
  return value.url
}
