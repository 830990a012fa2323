import { existsSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import Fastify from 'fastify'
import { z } from 'zod'
import { firstZodIssue } from '../config/validate.js'
import { isOutgrowError } from '../errors/index.js'
import { DashboardCollector } from '../dashboard/collector.js'
import { registerDashboardPage } from '../dashboard/page.js'
import { stackDashboardHost } from '../dashboard/stack-host.js'
import { registerDashboardStream } from '../dashboard/stream.js'
import { SCENARIOS } from '../lab/chaos/scenarios.js'
import { describeAction } from './actions.js'
import { installControlAuth } from './api-auth.js'
import { ChaosRunner } from './chaos-runner.js'
import { jobsRoutes } from './jobs-routes.js'
import type { Stack } from './stack.js'

export interface ControlApiOptions {
  readonly stack: Stack
  readonly token: string
  readonly host?: string
  readonly port?: number
}

export interface ControlApi {
  readonly url: string
  close(): Promise<void>
}

const scaleBody = z.object({ targets: z.record(z.string().min(1), z.number().int().min(0).max(256)).refine((t) => Object.keys(t).length > 0, 'name at least one group') }).strict()
const applyBody = z.object({ spec: z.record(z.unknown()) }).strict()
const rollingRestartBody = z.object({ services: z.array(z.string().min(1)).optional() }).strict()
const chaosBody = z.object({ scenario: z.enum(SCENARIOS), durationSeconds: z.number().int().min(2).max(3600).default(20), rate: z.number().int().min(1).max(10_000).default(40) }).strict()
const switchoverBody = z.object({ cluster: z.string().min(1).optional(), to: z.string().min(1).optional() }).strict()

/** The last `lines` lines of a file, read from its end (logs grow without bound). */
async function tail (file: string, lines: number): Promise<string> {
  const handle = await open(file, 'r')
  try {
    const { size } = await handle.stat()
    const length = Math.min(size, 256 * 1024)
    const buffer = Buffer.alloc(length)
    await handle.read(buffer, 0, length, size - length)
    return buffer.toString('utf8').trimEnd().split('\n').slice(-lines).join('\n')
  } finally {
    await handle.close()
  }
}

/**
 * The supervisor's control API: loopback HTTP, every request with `Authorization: Bearer <token>`
 * (the token is in the data dir, readable by its owner only). `outgrow status|scale|apply|down|
 * events|logs|switchover` speak to it.
 */
export async function startControlApi (options: ControlApiOptions): Promise<ControlApi> {
  const { stack } = options
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 })
  installControlAuth(app, { token: options.token, bindHost: options.host ?? '127.0.0.1' })
  // Who asked, for the event log: the dashboard says so; everything else is the CLI.
  const actorOf = (request: { headers: Record<string, string | string[] | undefined> }): string => request.headers['x-outgrow-actor'] === 'dashboard' ? 'dashboard' : 'cli'
  app.setErrorHandler(async (err: Error, _request, reply) => {
    if (isOutgrowError(err)) return await reply.code(err.status).send(err.toJSON())
    const status = (err as { statusCode?: number }).statusCode ?? 500
    return await reply.code(status).send({ error: { code: status < 500 ? 'OUTGROW_BAD_REQUEST' : 'OUTGROW_INTERNAL', message: err.message, retryable: false } })
  })
  const parse = <T>(schema: z.ZodType<T>, body: unknown): T => {
    const result = schema.safeParse(body)
    if (result.success) return result.data
    const { field, message } = firstZodIssue(result.error, 'body')
    throw Object.assign(new Error(`${field}: ${message}`), { statusCode: 400 })
  }

  app.get('/v1/status', async () => ({ ...stack.info(), converged: stack.isConverged(), pending: stack.pending().map(describeAction) }))
  app.get('/v1/spec', async () => stack.spec)
  app.get('/v1/autoscaler', async () => ({ decisions: stack.autoscaleHistory().slice(-200) }))
  app.post('/v1/scale', async (request) => {
    const { targets } = parse(scaleBody, request.body)
    stack.scale(targets, actorOf(request))
    return { accepted: true, pending: stack.pending().map(describeAction) }
  })
  app.put('/v1/spec', async (request) => {
    const { spec } = parse(applyBody, request.body)
    stack.apply(spec, 'cli')
    return { accepted: true, pending: stack.pending().map(describeAction) }
  })
  app.post('/v1/switchover', async (request) => {
    const body = parse(switchoverBody, request.body ?? {})
    return { accepted: true, ...await stack.switchover(body) }
  })
  app.post('/v1/down', async (_request, reply) => {
    reply.raw.once('finish', () => { stack.requestDown('cli') })
    return { stopping: true }
  })
  app.get('/v1/events', async (request) => {
    const since = Number((request.query as { since?: string }).since ?? 0)
    return { events: stack.events.since(Number.isFinite(since) ? since : 0) }
  })
  app.get('/v1/logs/:name', async (request, reply) => {
    const { name } = request.params as { name: string }
    const lines = Math.min(Math.max(Number((request.query as { lines?: string }).lines ?? 100) || 100, 1), 10_000)
    const known = stack.info().processes.some((p) => p.name === name)
    const file = join(stack.logDir, `${name}.log`)
    if (!/^[a-z0-9-]+$/.test(name) || (!known && !existsSync(file))) {
      return await reply.code(404).send({ error: { code: 'OUTGROW_NOT_FOUND', message: `no process ${name}`, retryable: false } })
    }
    // type() returns the reply, which is thenable; it sets a header and there is nothing to wait for.
    void reply.type('text/plain; charset=utf-8')
    return existsSync(file) ? await tail(file, lines) : ''
  })

  jobsRoutes(app, () => stack.jobs, parse)

  app.post('/v1/processes/:name/kill', async (request) => {
    const { name } = request.params as { name: string }
    return { accepted: true, ...stack.killProcess(name, actorOf(request)) }
  })
  app.post('/v1/rolling-restart', async (request) => {
    const { services } = parse(rollingRestartBody, request.body ?? {})
    stack.rollingRestart(actorOf(request), services)
    return { accepted: true, pending: stack.pending().map(describeAction) }
  })
  const chaos = new ChaosRunner({ stack: async () => stack.info(), events: stack.events, dataDir: stack.dataDir })
  app.get('/v1/chaos', async () => chaos.state())
  app.post('/v1/chaos', async (request, reply) => {
    const body = parse(chaosBody, request.body ?? {})
    const run = await chaos.start({ scenario: body.scenario, durationSeconds: body.durationSeconds ?? 20, rate: body.rate ?? 40 }, actorOf(request))
    return await reply.code(202).send({ accepted: true, running: run })
  })

  const dashboardHost = stackDashboardHost(stack)
  registerDashboardStream(app, dashboardHost, new DashboardCollector({ host: dashboardHost }))
  registerDashboardPage(app)

  const url = await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 })
  return { url, close: async () => { await app.close() } }
}
