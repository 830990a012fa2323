import { OutgrowError } from '../../errors/index.js'
import type { AckLog } from './ack-log.js'
import { failureReason, retryable, ShopHttp, type Answer, type ShopRequest } from './shop-http.js'
import type { OrderOutcomes, RequestCounts } from './verdict.js'

export interface CheckerOptions {
  /** The stack's public URL. */
  readonly url: string
  /** Operations started per second, orders and reads alternating. */
  readonly rate: number
  /** Virtual clients: seeded users user1…userN, one order in flight each. */
  readonly clients: number
  readonly password: string
  /** Prefix of this run's idempotency keys, so the final check finds exactly its orders. */
  readonly keyPrefix: string
  readonly acks: AckLog
  /** Milliseconds since the run began. */
  readonly now: () => number
  readonly requestTimeoutMs?: number
  /** How long a client keeps retrying one order before it gives up on it. */
  readonly orderDeadlineMs?: number
  /** Products 1…n are ordered and read. */
  readonly products?: number
}

/** A login hashes the password (scrypt): on a busy machine it takes seconds. */
const LOGIN_TIMEOUT_MS = 20_000

interface Client { readonly email: string, cookie: string, busy: boolean }

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/**
 * The checker workload: virtual clients that log in, add a product to the cart and check out
 * with a fresh Idempotency-Key per order, as a careful client does — on no answer, a time-out,
 * a 5xx or a retryable error they send the same key again (after logging in again on a 401)
 * until the order's deadline. Every 2xx goes to the ack log. Reads (product pages, order history)
 * run alongside, one attempt each.
 */
export class Checker {
  readonly orders: { started: number, refused: number, indeterminate: number, abandoned: number } = { started: 0, refused: 0, indeterminate: 0, abandoned: 0 }
  /** Orders not started because every client was busy with one. */
  skipped = 0
  readonly #sent: Record<string, number> = {}
  readonly #failed: Record<string, Record<string, number>> = {}
  readonly #options: CheckerOptions
  readonly #http: ShopHttp
  readonly #clients: Client[]
  readonly #inFlight = new Set<Promise<void>>()
  #orderSeq = 0
  #opSeq = 0

  constructor (options: CheckerOptions) {
    this.#options = options
    this.#http = new ShopHttp(options.url, options.requestTimeoutMs ?? 5000, Math.max(16, options.clients * 2))
    this.#clients = Array.from({ length: options.clients }, (_, i) => ({ email: `user${i + 1}@example.com`, cookie: '', busy: false }))
  }

  get requests (): RequestCounts { return { sent: { ...this.#sent }, failed: structuredClone(this.#failed) } }
  get outcomes (): OrderOutcomes & { abandoned: number } { return { ...this.orders } }

  async #send (kind: string, req: ShopRequest, client?: Client): Promise<Answer> {
    this.#sent[kind] = (this.#sent[kind] ?? 0) + 1
    const answer = await this.#http.send(req, client === undefined ? undefined : (cookie) => { client.cookie = cookie })
    if (!answer.ok || answer.status >= 400) {
      const reasons = this.#failed[kind] ??= {}
      const reason = failureReason(answer)
      reasons[reason] = (reasons[reason] ?? 0) + 1
    }
    return answer
  }

  /** Logs a client in, retrying until the deadline; undefined when it did, else why not. */
  async #login (client: Client, deadline: number): Promise<string | undefined> {
    let why = 'no time left'
    for (let attempt = 0; this.#options.now() < deadline; attempt++) {
      const answer = await this.#send('login', { method: 'POST', path: '/api/login', body: { email: client.email, password: this.#options.password }, timeoutMs: LOGIN_TIMEOUT_MS }, client)
      if (answer.ok && answer.status === 200) return undefined
      why = failureReason(answer)
      if (!retryable(answer)) return why
      await sleep(backoff(attempt, answer))
    }
    return why
  }

  /** Logs every client in; fails when one cannot (e.g. fewer seeded users than clients). */
  async loginAll (timeoutMs = 60_000): Promise<void> {
    const deadline = this.#options.now() + timeoutMs
    let next = 0
    const failed: string[] = []
    await Promise.all(Array.from({ length: Math.min(4, this.#clients.length) }, async () => {
      while (next < this.#clients.length) {
        const client = this.#clients[next++] as Client
        const why = await this.#login(client, deadline)
        if (why !== undefined) failed.push(`${client.email} (${why})`)
      }
    }))
    if (failed.length > 0) {
      throw new OutgrowError('OUTGROW_UNAUTHENTICATED', `the checker could not log in ${failed.join(', ')}: it needs --clients seeded users (user1…userN) with --password`)
    }
  }

  /** Starts operations at the rate until `until` (ms since the run began), then waits for those in flight. */
  async run (until: number): Promise<void> {
    const spacing = 1000 / this.#options.rate
    const began = this.#options.now()
    for (let i = 0; ; i++) {
      const due = began + i * spacing
      if (due >= until) break
      const wait = due - this.#options.now()
      if (wait > 0) await sleep(wait)
      this.#track(this.#opSeq++ % 2 === 0 ? this.#startOrder() : this.#read())
    }
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight)
  }

  #track (job: Promise<void> | undefined): void {
    if (job === undefined) return
    this.#inFlight.add(job)
    void job.finally(() => this.#inFlight.delete(job))
  }

  #product (): number { return 1 + Math.floor(Math.random() * (this.#options.products ?? 20)) }

  #startOrder (): Promise<void> | undefined {
    const client = this.#clients.find((c) => !c.busy)
    if (client === undefined) { this.skipped++; return undefined }
    client.busy = true
    return this.#order(client).finally(() => { client.busy = false })
  }

  async #read (): Promise<void> {
    const client = this.#clients[Math.floor(Math.random() * this.#clients.length)] as Client
    const req: ShopRequest = this.#opSeq % 4 === 1
      ? { method: 'GET', path: `/api/products/${this.#product()}` }
      : { method: 'GET', path: '/api/orders', cookie: client.cookie }
    await this.#send('read', req)
  }

  /** Puts one product in the cart, retrying; false when the deadline passed or the shop refused. */
  async #addToCart (client: Client, deadline: number): Promise<'added' | 'refused' | 'deadline'> {
    const body = { productId: this.#product(), qty: 1 }
    for (let attempt = 0; this.#options.now() < deadline; attempt++) {
      const answer = await this.#send('add', { method: 'POST', path: '/api/cart/items', body, cookie: client.cookie }, client)
      if (answer.ok && answer.status < 300) return 'added'
      if (answer.ok && answer.status === 401) { await this.#login(client, deadline); continue }
      if (!retryable(answer)) return 'refused'
      await sleep(backoff(attempt, answer))
    }
    return 'deadline'
  }

  async #order (client: Client): Promise<void> {
    const started = this.#options.now()
    const deadline = started + (this.#options.orderDeadlineMs ?? 10_000)
    const key = `${this.#options.keyPrefix}${++this.#orderSeq}`
    this.orders.started++
    const added = await this.#addToCart(client, deadline)
    if (added !== 'added') {
      if (added === 'refused') this.orders.refused++
      else this.orders.abandoned++
      return
    }
    for (let attempt = 0; this.#options.now() < deadline; attempt++) {
      const sentAt = this.#options.now()
      const answer = await this.#send('checkout', { method: 'POST', path: '/api/orders', cookie: client.cookie, idempotencyKey: key }, client)
      if (answer.ok && answer.status < 300) {
        this.#options.acks.add({ key, orderId: Number(answer.json.id), sentAt, ackedAt: this.#options.now() })
        return
      }
      if (answer.ok && answer.status === 401) {
        // The session was lost (e.g. with Redis): log in again and refill the cart; the same key
        // still replays the order if the first copy placed it.
        if (await this.#login(client, deadline) === undefined) await this.#addToCart(client, deadline)
        continue
      }
      if (!retryable(answer)) { this.orders.refused++; return }
      await sleep(backoff(attempt, answer))
    }
    this.orders.indeterminate++
  }

  async close (): Promise<void> {
    await this.#http.close()
  }
}

/** 100 ms doubling to 1 s, with jitter; a Retry-After is honoured up to 2 s. */
export function backoff (attempt: number, answer: Answer): number {
  const base = Math.min(1000, 100 * 2 ** attempt) * (0.5 + Math.random() / 2)
  const after = answer.ok ? answer.retryAfterMs : undefined
  return after === undefined ? base : Math.min(2000, Math.max(base, after))
}
