import type { FastifyInstance } from 'fastify'

/**
 * The dashboard's page and its assets: `GET /dashboard` (HTML) and `GET /dashboard/assets/*`
 * (script, styles, the chart library). Authentication is the control API's (its onRequest hook).
 */
export function registerDashboardPage (app: FastifyInstance): void {
  app.get('/dashboard', async (_request, reply) => await reply.type('text/html; charset=utf-8').send('<!doctype html><title>Outgrow</title><p>dashboard page not built yet</p>'))
}
