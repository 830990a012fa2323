import pg from 'pg'
import type { Logger } from '../runtime/ports.js'

export interface NotifyListenerOptions {
  readonly channel: string
  /** The primary's URL now (asked before every connect); undefined while there is none. */
  readonly primaryUrl: () => string | undefined
  readonly onNotify: () => void
  readonly log: Logger
  readonly connectTimeoutMs?: number
}

const RETRY_MS = 1000

/**
 * LISTEN on the primary, so a commit that wrote outbox entries wakes the relay at once. A wake-up
 * only: a lost connection or a missed notification costs latency (the relay polls too), never an
 * entry. It reconnects by itself, to whichever server is the primary then; every (re)connect
 * wakes the relay once, for what committed while nobody listened.
 */
export class NotifyListener {
  readonly #o: NotifyListenerOptions
  #client: pg.Client | undefined
  #url: string | undefined
  #closed = false
  #timer: NodeJS.Timeout | undefined

  constructor (options: NotifyListenerOptions) {
    this.#o = options
  }

  start (): void {
    void this.#connect()
  }

  /** Called by the relay now and then: a primary that changed is listened to instead. */
  follow (): void {
    if (this.#client !== undefined && this.#url !== this.#o.primaryUrl()) this.#drop()
  }

  async #connect (): Promise<void> {
    this.#timer = undefined
    if (this.#closed) return
    const url = this.#o.primaryUrl()
    if (url === undefined) { this.#retry(); return }
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: this.#o.connectTimeoutMs ?? 2000 })
    client.on('notification', () => { this.#o.onNotify() })
    client.on('error', () => { if (this.#client === client) this.#drop() })
    client.on('end', () => { if (this.#client === client) this.#drop() })
    try {
      await client.connect()
      await client.query(`LISTEN ${this.#o.channel}`)
    } catch (err) {
      this.#o.log.warn({ err }, 'outbox relay: LISTEN failed; polling until it works')
      await client.end().catch(() => {})
      this.#retry()
      return
    }
    if (this.#closed) { await client.end().catch(() => {}); return }
    this.#client = client
    this.#url = url
    this.#o.onNotify()
  }

  #drop (): void {
    const client = this.#client
    this.#client = undefined
    void client?.end().catch(() => {})
    this.#retry()
  }

  #retry (): void {
    if (this.#closed || this.#timer !== undefined) return
    this.#timer = setTimeout(() => { void this.#connect() }, RETRY_MS)
    this.#timer.unref()
  }

  async close (): Promise<void> {
    this.#closed = true
    clearTimeout(this.#timer)
    const client = this.#client
    this.#client = undefined
    await client?.end().catch(() => {})
  }
}
