import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { extname, join, normalize, resolve, sep } from 'node:path'
import { LRUCache } from 'lru-cache'
import type { GatewayRequest } from './http/request.js'
import { httpDate, type GatewayResponse } from './http/response.js'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.json': 'application/json', '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8', '.txt': 'text/plain; charset=utf-8', '.svg': 'image/svg+xml',
  '.png': 'image/png', '.jpg': 'image/jpeg', '.webp': 'image/webp', '.ico': 'image/x-icon', '.xml': 'application/xml',
}

interface Found { path: string, size: number, etag: string, modified: string }

/**
 * The stack's static store served like a CDN edge, before any proxying: pre-rendered pages with
 * ETag and Cache-Control, 304 on If-None-Match. Look-ups (misses too) are cached for a second, so
 * proxied requests do not pay a file-system call each.
 */
export class StaticFiles {
  readonly #root: string
  readonly #cacheControl: string
  readonly #lookups = new LRUCache<string, Found | false>({ max: 10_000, ttl: 1000 })

  constructor (dir: string, maxAgeSeconds: number) {
    this.#root = resolve(dir)
    this.#cacheControl = `public, max-age=${maxAgeSeconds}`
  }

  async #find (urlPath: string): Promise<Found | false> {
    const cached = this.#lookups.get(urlPath)
    if (cached !== undefined) return cached
    let found: Found | false = false
    try {
      const decoded = decodeURIComponent(urlPath)
      if (!decoded.includes('\0') && !decoded.split('/').some((s) => s.startsWith('.'))) {
        const relative = normalize(decoded.endsWith('/') ? `${decoded}index.html` : decoded)
        const path = join(this.#root, relative)
        if (path.startsWith(this.#root + sep)) {
          const info = await stat(path)
          if (info.isFile()) found = { path, size: info.size, etag: `W/"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`, modified: info.mtime.toUTCString() }
        }
      }
    } catch {
      found = false
    }
    this.#lookups.set(urlPath, found)
    return found
  }

  /** Serves the request if a file matches; resolves false when the request should be proxied. */
  async serve (req: GatewayRequest, res: GatewayResponse): Promise<boolean> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false
    const url = req.url
    const query = url.indexOf('?')
    const found = await this.#find(query === -1 ? url : url.slice(0, query))
    if (found === false) return false
    const headers = ['etag', found.etag, 'last-modified', found.modified, 'cache-control', this.#cacheControl, 'x-outgrow-static', 'hit', 'date', httpDate()]
    if (req.header('if-none-match') === found.etag) {
      res.writeHead(304, headers)
      res.end()
      return true
    }
    res.writeHead(200, headers.concat('content-type', TYPES[extname(found.path)] ?? 'application/octet-stream', 'content-length', String(found.size)))
    if (req.method === 'HEAD') {
      res.end()
      return true
    }
    const file = createReadStream(found.path)
    file.on('data', (chunk) => {
      if (!res.write(chunk)) {
        file.pause()
        res.onDrain(() => file.resume())
      }
    })
    file.on('end', () => { res.end() })
    file.on('error', () => { res.destroy() })
    res.closeListener = { responseClosed: (completed) => { if (!completed) file.destroy() } }
    return true
  }
}
