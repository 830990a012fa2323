import type { JsonValue } from '../runtime/ports.js'

/**
 * Notices: small messages for one audience (a user, a session, an order), pushed to whatever
 * browser connections that audience has open, on any instance — the "job is done" signal. A
 * notice is kept for a while (the last `keep` per audience), so a client that reconnects with the
 * last id it saw gets what it missed. Not a queue: nobody acknowledges a notice, and one nobody
 * is listening for is only kept, not redelivered.
 */
export interface Notice {
  /** Opaque, increasing within an audience: the SSE event id a client sends back as Last-Event-ID. */
  readonly id: string
  readonly type: string
  readonly data: JsonValue
}

export interface NoticeSubscription {
  /** Stops delivery; idempotent. */
  close(): void
}

export interface NoticeListener {
  readonly onNotice: (notice: Notice) => void
  /**
   * Notices after `after` may be missing (they were trimmed, or kept by an earlier process): the
   * client should reload the state it shows.
   */
  readonly onGap?: () => void
}

export interface Notices {
  publish(audience: string, type: string, data: JsonValue): Promise<{ readonly id: string }>
  /**
   * Delivers the kept notices after `after` (none when undefined), then every new one, in order,
   * until closed. Resolves once listening.
   */
  subscribe(audience: string, after: string | undefined, listener: NoticeListener): Promise<NoticeSubscription>
  close(): Promise<void>
}

export const NOTICES_KEPT_PER_AUDIENCE = 100
export const NOTICE_AUDIENCE = /^[A-Za-z0-9:_.-]{1,200}$/
export const NOTICE_TYPE = /^[A-Za-z0-9:_.-]{1,100}$/
