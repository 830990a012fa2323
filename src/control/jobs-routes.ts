import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { OutgrowError } from '../errors/index.js'
import type { StackJobs } from './stack-jobs.js'

const failedQuery = z.object({ queue: z.string().min(1).optional(), limit: z.coerce.number().int().min(1).max(10_000).default(100) }).strict()
const retryBody = z.union([
  z.object({ id: z.string().min(1), queue: z.string().min(1).optional() }).strict(),
  z.object({ all: z.literal(true), queue: z.string().min(1).optional() }).strict(),
])
const purgeBody = z.object({ olderThanMs: z.number().int().min(0).default(0), queue: z.string().min(1).optional() }).strict()

/** `outgrow jobs stats|failed|retry|purge`: the control API's routes over the stack's job queues. */
export function jobsRoutes (app: FastifyInstance, jobs: () => StackJobs, parse: <T>(schema: z.ZodType<T>, value: unknown) => T): void {
  app.get('/v1/jobs/stats', async () => ({ queues: await jobs().stats() }))
  app.get('/v1/jobs/failed', async (request) => {
    const { queue, limit } = parse(failedQuery, request.query)
    return { deadLetters: await jobs().failed(queue, limit ?? 100) }
  })
  app.post('/v1/jobs/retry', async (request) => {
    const body = parse(retryBody, request.body ?? {})
    if ('all' in body) return { retried: await jobs().retryAll(body.queue) }
    const { queue } = await jobs().retry(body.id, body.queue)
    return { retried: 1, queue }
  })
  app.post('/v1/jobs/purge', async (request) => {
    const { olderThanMs, queue } = parse(purgeBody, request.body ?? {})
    return { purged: await jobs().purge(olderThanMs ?? 0, queue) }
  })
}

/** `1h`, `30m`, `45s`, `2d`, `500ms` → milliseconds. */
export function parseDuration (text: string): number {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(text.trim())
  if (m === null) throw new OutgrowError('OUTGROW_VALIDATION', `expected a duration such as 30m, 1h or 2d, got ${text}`)
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd']
  return Number(m[1]) * unit
}
