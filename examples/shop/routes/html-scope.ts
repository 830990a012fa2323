import formBody from '@fastify/formbody'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { OutgrowError } from '../../../src/index.js'
import { escapeHtml } from '../html/escape.js'
import { ANONYMOUS_LINKS, renderPage, type PageParts } from '../html/layout.js'
import { crossOriginRefusal } from './cross-origin.js'

const header = (request: FastifyRequest, name: string): string | undefined => {
  const value = request.headers[name]
  return typeof value === 'string' ? value : undefined
}

export const wantsHtml = (request: FastifyRequest): boolean => (header(request, 'accept') ?? '').includes('text/html')

/** Sends a page; pages that show who is looking are not for shared caches. */
export async function sendPage (reply: FastifyReply, parts: PageParts, status = 200, personal = true): Promise<FastifyReply> {
  if (personal) void reply.header('cache-control', 'private, no-cache')
  return await reply.code(status).type('text/html; charset=utf-8').send(renderPage(parts))
}

/** A refusal the person can act on is shown on the form again, with its status; anything else is thrown. */
export function refusal (err: unknown): { status: number, message: string } {
  if (err instanceof OutgrowError && err.status < 500) return { status: err.status, message: err.message }
  throw err
}

/**
 * The HTML routes' own scope: form bodies are parsed only here (the JSON API takes JSON alone),
 * every state-changing request must come from this site (cross-origin.ts), and a refusal is shown
 * to a browser as a page with its status and code; other clients get the usual JSON error.
 */
export function htmlScope (app: FastifyInstance, routes: (scope: FastifyInstance) => void): void {
  void app.register(async (scope) => {
    await scope.register(formBody, { bodyLimit: 16 * 1024 })
    scope.addHook('onRequest', async (request) => {
      const refusal = crossOriginRefusal(request.method, { secFetchSite: header(request, 'sec-fetch-site'), origin: header(request, 'origin'), host: header(request, 'host') })
      if (refusal !== undefined) throw new OutgrowError('OUTGROW_FORBIDDEN', refusal)
    })
    scope.setErrorHandler(async (error, request, reply) => {
      // Anything else (5xx, framework errors) goes to the app's JSON error handling.
      if (!(error instanceof OutgrowError) || error.status >= 500 || !wantsHtml(request)) throw error
      const retryAfter = error.details?.retryAfterSeconds
      if (typeof retryAfter === 'number') void reply.header('retry-after', String(retryAfter))
      const title = error.status === 404 ? 'Not found' : 'That did not work'
      const body = `<h1>${title}</h1><p role="alert">${escapeHtml(error.message)} (${error.code})</p><p><a href="/">Back to the products</a></p>`
      return await sendPage(reply, { title, body, account: ANONYMOUS_LINKS, scripts: ['account.js'] }, error.status)
    })
    routes(scope)
  })
}
