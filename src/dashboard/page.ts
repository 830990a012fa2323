import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import { DASHBOARD_HTML } from './page-html.js'
import { DASHBOARD_CSS } from './page-styles.js'

const require = createRequire(import.meta.url)

/** The chart library, served from its package as installed (no CDN). */
const UPLOT_FILES = new Map([
  ['uPlot.esm.js', { path: require.resolve('uplot/dist/uPlot.esm.js'), type: 'text/javascript; charset=utf-8' }],
  ['uPlot.min.css', { path: require.resolve('uplot/dist/uPlot.min.css'), type: 'text/css; charset=utf-8' }],
])

/** The page's script: `client/*.ts` compiled by tsc next to this file (dist/src/dashboard/client). */
const CLIENT_DIR = fileURLToPath(new URL('./client/', import.meta.url))
const CLIENT_FILE = /^[a-z][a-z0-9-]*\.js(\.map)?$/

const NO_CACHE = 'no-cache'

/**
 * The dashboard's page and its assets: `GET /dashboard` (HTML) and `GET /dashboard/assets/*`
 * (script, styles, the chart library). Authentication is the control API's (its onRequest hook).
 */
export function registerDashboardPage (app: FastifyInstance): void {
  // Assets are read once; they change only with a new build, which means a new supervisor.
  const cache = new Map<string, Promise<Buffer>>()
  const read = async (path: string): Promise<Buffer> => {
    let content = cache.get(path)
    if (content === undefined) {
      content = readFile(path)
      content.catch(() => { cache.delete(path) })
      cache.set(path, content)
    }
    return await content
  }
  const notFound = { error: { code: 'OUTGROW_NOT_FOUND', message: 'no such dashboard asset', retryable: false } }

  app.get('/dashboard', async (_request, reply) => {
    return await reply.type('text/html; charset=utf-8').header('cache-control', NO_CACHE).send(DASHBOARD_HTML)
  })
  app.get('/dashboard/assets/dashboard.css', async (_request, reply) => {
    return await reply.type('text/css; charset=utf-8').header('cache-control', NO_CACHE).send(DASHBOARD_CSS)
  })
  app.get('/dashboard/assets/:file', async (request, reply) => {
    const asset = UPLOT_FILES.get((request.params as { file: string }).file)
    if (asset === undefined) return await reply.code(404).send(notFound)
    return await reply.type(asset.type).header('cache-control', NO_CACHE).send(await read(asset.path))
  })
  app.get('/dashboard/assets/client/:file', async (request, reply) => {
    const { file } = request.params as { file: string }
    if (!CLIENT_FILE.test(file)) return await reply.code(404).send(notFound)
    let content: Buffer
    try {
      content = await read(CLIENT_DIR + file)
    } catch {
      return await reply.code(404).send(notFound)
    }
    const type = file.endsWith('.map') ? 'application/json; charset=utf-8' : 'text/javascript; charset=utf-8'
    return await reply.type(type).header('cache-control', NO_CACHE).send(content)
  })
}
