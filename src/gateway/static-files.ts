import { open, stat, type FileHandle } from 'node:fs/promises'
import { extname, join, normalize, resolve, sep } from 'node:path'
import { LRUCache } from 'lru-cache'
import type { GatewayRequest } from './http/request.js'
import { httpDate, type GatewayResponse } from './http/response.js'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.json': 'application/json', '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8', '.txt': 'text/plain; charset=utf-8', '.svg': 'image/svg+xml',
  '.png': 'image/png', '.jpg': 'image/jpeg', '.webp': 'image/webp', '.ico': 'image/x-icon', '.xml': 'application/xml',
}

/** Files up to this size are read whole and sent with the head in one write; larger ones are streamed. */
const READ_WHOLE_BYTES = 64 * 1024

/**
 * The stack's static store served like a CDN edge, before any proxying: pre-rendered pages with
 * ETag and Cache-Control, 304 on If-None-Match. A directory is served by its index.html at its own
 * path (`/products/42` → `products/42/index.html`, the layout of src/static-store).
 *
 * Which file a path maps to (misses too) is remembered for a second, so proxied requests do not pay
 * a file-system call each. What a found file holds is not: every hit opens the file and takes
 * size and ETag (inode, size, mtime in ns) from that open file, so a copy replaced by rename is
 * served, with its own ETag, from the next request on, and headers always match the bytes sent.
 */
export class StaticFiles {
  readonly #root: string
  readonly #cacheControl: string
  readonly #lookups = new LRUCache<string, string | false>({ max: 10_000, ttl: 1000 })

  constructor (dir: string, maxAgeSeconds: number) {
    this.#root = resolve(dir)
    this.#cacheControl = `public, max-age=${maxAgeSeconds}`
  }

  /** The file a URL path maps to, or false. */
  async #find (urlPath: string): Promise<string | false> {
    const cached = this.#lookups.get(urlPath)
    if (cached !== undefined) return cached
    let found: string | false = false
    try {
      const decoded = decodeURIComponent(urlPath)
      if (!decoded.includes('\0') && !decoded.split('/').some((s) => s.startsWith('.'))) {
        const relative = normalize(decoded.endsWith('/') ? `${decoded}index.html` : decoded)
        const path = join(this.#root, relative)
        if (path.startsWith(this.#root + sep)) {
          const info = await stat(path)
          if (info.isFile()) found = path
          else if (info.isDirectory() && (await stat(join(path, 'index.html'))).isFile()) found = join(path, 'index.html')
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
    const urlPath = query === -1 ? url : url.slice(0, query)
    const path = await this.#find(urlPath)
    if (path === false) return false
    let file: FileHandle
    try {
      file = await open(path, 'r')
    } catch {
      // Deleted since it was looked up: the app answers (a deleted product's page is its 404).
      this.#lookups.delete(urlPath)
      return false
    }
    let streaming = false
    try {
      const info = await file.stat({ bigint: true })
      if (!info.isFile()) return false
      const size = Number(info.size)
      const etag = `W/"${info.ino.toString(36)}-${info.size.toString(36)}-${info.mtimeNs.toString(36)}"`
      const headers = ['etag', etag, 'last-modified', new Date(Number(info.mtimeMs)).toUTCString(), 'cache-control', this.#cacheControl, 'x-outgrow-static', 'hit', 'date', httpDate()]
      if (req.header('if-none-match') === etag) {
        res.writeHead(304, headers)
        res.end()
        return true
      }
      const head = headers.concat('content-type', TYPES[extname(path)] ?? 'application/octet-stream', 'content-length', String(size))
      if (req.method === 'HEAD') {
        res.writeHead(200, head)
        res.end()
        return true
      }
      if (size <= READ_WHOLE_BYTES) {
        const body = Buffer.allocUnsafe(size)
        const { bytesRead } = await file.read(body, 0, size, 0)
        res.writeHead(200, head)
        res.end(body.subarray(0, bytesRead))
        return true
      }
      res.writeHead(200, head)
      streaming = true
      this.#stream(file, res)
      return true
    } finally {
      if (!streaming) await file.close()
    }
  }

  /** Streams a large file from its open handle (closed by the stream), pausing for slow clients. */
  #stream (file: FileHandle, res: GatewayResponse): void {
    const stream = file.createReadStream()
    stream.on('data', (chunk) => {
      if (!res.write(chunk)) {
        stream.pause()
        res.onDrain(() => stream.resume())
      }
    })
    stream.on('end', () => { res.end() })
    stream.on('error', () => { res.destroy() })
    res.closeListener = { responseClosed: (completed) => { if (!completed) stream.destroy() } }
  }
}
