import { randomUUID } from 'node:crypto'
import { request } from 'undici'

/**
 * A shop client placing orders all along, as a careful client does: each order has its own
 * Idempotency-Key, and a failed attempt (5xx, connection error) is retried with the same key until
 * it is acknowledged or `giveUpMs` passed. An order that never is counts as failed.
 */
export interface OrderWriter {
  /** Acknowledged orders: their id and when the acknowledgement arrived. */
  readonly acks: ReadonlyArray<{ readonly id: number, readonly at: number }>
  /** Orders given up on, with the last answer. */
  readonly failures: readonly string[]
  /** Attempts answered with a retryable error before a retry succeeded. */
  retried: number
  /** Why attempts were retried, with when (for a slow recovery's message). */
  readonly retries: Array<{ readonly at: number, readonly why: string }>
  stop(): Promise<void>
}

export async function startOrderWriter (base: string, options: { email?: string, giveUpMs?: number, pauseMs?: number } = {}): Promise<OrderWriter> {
  const giveUpMs = options.giveUpMs ?? 20_000
  const call = async (method: 'POST', path: string, cookie: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number, json: Record<string, unknown>, cookie: string }> => {
    const res = await request(`${base}${path}`, {
      method, headers: { 'content-type': 'application/json', ...(cookie === '' ? {} : { cookie }), ...headers }, body: JSON.stringify(body), headersTimeout: 15_000, bodyTimeout: 15_000,
    })
    const text = await res.body.text()
    const setCookie = res.headers['set-cookie']
    const sid = (Array.isArray(setCookie) ? setCookie : setCookie === undefined ? [] : [setCookie]).map((c) => c.split(';')[0] as string).find((c) => c.startsWith('outgrow.sid='))
    return { status: res.statusCode, json: text.startsWith('{') ? JSON.parse(text) as Record<string, unknown> : {}, cookie: sid ?? cookie }
  }
  const login = await call('POST', '/api/login', '', { email: options.email ?? 'user3@example.com', password: 'password123' })
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${JSON.stringify(login.json)}`)
  let cookie = login.cookie
  const acks: Array<{ id: number, at: number }> = []
  const failures: string[] = []
  let running = true
  const writer: OrderWriter = { acks, failures, retried: 0, retries: [], stop: async () => { running = false; await loop } }

  /** Repeats one idempotent step until it answers `ok`, or gives up. */
  const untilDone = async (what: string, step: () => Promise<{ status: number, json: Record<string, unknown> }>, ok: number): Promise<Record<string, unknown> | undefined> => {
    const deadline = Date.now() + giveUpMs
    let last = ''
    while (Date.now() < deadline) {
      try {
        const r = await step()
        if (r.status === ok) return r.json
        last = `${r.status} ${JSON.stringify(r.json).slice(0, 200)}`
        if (r.status < 500 && r.status !== 409) break
      } catch (err) {
        last = (err as Error).message
      }
      writer.retried++
      writer.retries.push({ at: Date.now(), why: `${what.split(' ')[0] ?? ''}: ${last.slice(0, 160)}` })
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    failures.push(`${what}: ${last}`)
    return undefined
  }

  const loop = (async () => {
    for (let i = 0; running; i++) {
      const added = await untilDone('add to cart', async () => {
        const r = await call('POST', '/api/cart/items', cookie, { productId: 1 + (i % 20), qty: 1 })
        cookie = r.cookie
        return r
      }, 201)
      if (added === undefined) continue
      const key = randomUUID()
      const order = await untilDone(`order ${key}`, async () => await call('POST', '/api/orders', cookie, {}, { 'idempotency-key': key }), 201)
      if (typeof order?.id === 'number') acks.push({ id: order.id, at: Date.now() })
      await new Promise((resolve) => setTimeout(resolve, options.pauseMs ?? 20))
    }
  })()
  return writer
}
