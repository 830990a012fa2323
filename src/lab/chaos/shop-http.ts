import { Pool } from 'undici'

/** One answer of the shop, or why there was none. */
export type Answer =
  | { readonly ok: true, readonly status: number, readonly json: Record<string, unknown>, readonly retryAfterMs: number | undefined }
  | { readonly ok: false, readonly reason: string }

export interface ShopRequest {
  readonly method: 'GET' | 'POST'
  readonly path: string
  readonly cookie?: string
  readonly body?: unknown
  readonly idempotencyKey?: string
  /** Overrides the client's wait for this request (a login hashes a password: it is slow). */
  readonly timeoutMs?: number
}

/** The session cookie (`outgrow.sid=…`) a response set, if any. */
export function sessionCookie (setCookie: string | string[] | undefined): string | undefined {
  for (const header of Array.isArray(setCookie) ? setCookie : setCookie === undefined ? [] : [setCookie]) {
    const pair = header.split(';')[0] ?? ''
    if (pair.startsWith('outgrow.sid=')) return pair
  }
  return undefined
}

/** A JSON client of the shop's public URL with a bounded wait per request; it never throws. */
export class ShopHttp {
  readonly #pool: Pool
  readonly #timeoutMs: number

  constructor (url: string, timeoutMs: number, connections = 64) {
    this.#pool = new Pool(url, { connections, keepAliveTimeout: 10_000 })
    this.#timeoutMs = timeoutMs
  }

  async send (req: ShopRequest, onCookie?: (cookie: string) => void): Promise<Answer> {
    const headers: Record<string, string> = {}
    if (req.cookie !== undefined && req.cookie !== '') headers.cookie = req.cookie
    if (req.body !== undefined) headers['content-type'] = 'application/json'
    if (req.idempotencyKey !== undefined) headers['idempotency-key'] = req.idempotencyKey
    try {
      const res = await this.#pool.request({
        method: req.method, path: req.path, headers, body: req.body === undefined ? null : JSON.stringify(req.body),
        headersTimeout: req.timeoutMs ?? this.#timeoutMs, bodyTimeout: req.timeoutMs ?? this.#timeoutMs,
      })
      const text = await res.body.text()
      const cookie = sessionCookie(res.headers['set-cookie'])
      if (cookie !== undefined) onCookie?.(cookie)
      let json: Record<string, unknown> = {}
      try { json = text.startsWith('{') ? JSON.parse(text) as Record<string, unknown> : {} } catch {}
      const retryAfter = Number(res.headers['retry-after'])
      return { ok: true, status: res.statusCode, json, retryAfterMs: Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter * 1000 : undefined }
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'unknown'
      return { ok: false, reason: code.includes('TIMEOUT') ? 'timeout' : `net:${code}` }
    }
  }

  async close (): Promise<void> {
    await this.#pool.destroy()
  }
}

/** Whether sending the same request again may succeed: no answer, 5xx, 408, 429, or an error body that says so. */
export function retryable (answer: Answer): boolean {
  if (!answer.ok) return true
  if (answer.status >= 500 || answer.status === 408 || answer.status === 429) return true
  const error = answer.json.error as { retryable?: unknown } | undefined
  return answer.status >= 400 && error?.retryable === true
}

/** The failure reason recorded for an answer: `net:…`, `timeout`, or the status with the error code when there is one. */
export function failureReason (answer: Answer): string {
  if (!answer.ok) return answer.reason
  const code = (answer.json.error as { code?: unknown } | undefined)?.code
  return typeof code === 'string' ? `${answer.status} ${code}` : String(answer.status)
}
