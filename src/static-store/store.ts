import { OutgrowError } from '../errors/index.js'

/**
 * The stack's static store (docs/prerender.md): files the gateways serve by URL path before
 * proxying, like a CDN's origin bucket. Jobs write pre-rendered pages into it. A reader sees a
 * file's old or new content, never a mix; the newest put of a path wins.
 */
export interface StaticStore {
  /** Stores `body` at a URL path ('/products/42'), served there as HTML; replaces any copy atomically. */
  put(urlPath: string, body: string | Uint8Array): Promise<void>
  /** Removes the copy at a URL path (no copy is fine); the gateway then proxies the path to the app. */
  delete(urlPath: string): Promise<void>
  close(): Promise<void>
}

/** Segments a store path may have: no empty, hidden (dot) or traversal segments, nothing to escape. */
const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._~-]{0,127}$/
const MAX_DEPTH = 16

/**
 * The segments of a store path, or OUTGROW_VALIDATION: paths come from application code, and one
 * that could leave the store's root, or hide from the gateway (dot segments are never served), is a bug.
 */
export function storePathSegments (urlPath: string): string[] {
  const segments = urlPath.startsWith('/') ? urlPath.slice(1).split('/') : []
  if (segments.length === 0 || segments.length > MAX_DEPTH || !segments.every((s) => SEGMENT.test(s))) {
    throw new OutgrowError('OUTGROW_VALIDATION', `static store path ${JSON.stringify(urlPath.slice(0, 200))}: expected /segment[/segment…] of letters, digits, _ - . ~ (not starting with a dot)`, { field: 'path' })
  }
  return segments
}
