import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Notice, Notices, NoticeSubscription } from '../notices/notices.js'
import { httpStreamsOpen } from './metrics.js'

export interface EventStreamOptions {
  /** A comment line this often keeps proxies (and the gateway's idle time-out) from closing the stream. */
  readonly heartbeatMs?: number
  /** How long a browser waits before it reconnects (the SSE `retry` field). */
  readonly retryMs?: number
}

/** What the app server keeps of each open stream: ended when the instance shuts down. */
export interface OpenStream {
  end(): void
}

function frame (notice: Notice): string {
  return `id: ${notice.id}\nevent: ${notice.type}\ndata: ${JSON.stringify(notice.data)}\n\n`
}

/**
 * Serves an audience's notices to one browser as Server-Sent Events: what it missed since its
 * `Last-Event-ID` (as far as kept), then every new notice as it is published, on any instance.
 * A `gap` event tells the page that notices may be missing, so it reloads what it shows. The
 * stream leaves the request count (it is not load the balancer should see) and is counted in
 * `outgrow_http_streams_open`; at shutdown the server ends it and the browser reconnects,
 * through the gateway, to an instance still in rotation.
 */
export async function streamNotices (request: FastifyRequest, reply: FastifyReply, notices: Notices, audience: string, options: EventStreamOptions = {}): Promise<void> {
  const header = request.headers['last-event-id']
  const after = typeof header === 'string' && header.length > 0 && header.length <= 100 ? header : undefined
  const early: string[] = []
  let write = (chunk: string): void => { early.push(chunk) }
  // Subscribed before the response starts: a store that cannot answer gets a 503, not an empty stream.
  const subscription: NoticeSubscription = await notices.subscribe(audience, after, {
    onNotice: (notice) => { write(frame(notice)) },
    onGap: () => { write('event: gap\ndata: {}\n\n') },
  })
  const res = reply.raw
  reply.hijack()
  request.leaveInFlight()
  httpStreamsOpen.inc()
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-outgrow-instance': String(reply.getHeader('x-outgrow-instance') ?? ''),
  })
  res.write(`retry: ${options.retryMs ?? 2000}\n\n${early.join('')}`)
  write = (chunk) => { res.write(chunk) }
  const heartbeat = setInterval(() => { res.write(': keep-alive\n\n') }, options.heartbeatMs ?? 15_000)
  const streams = request.server.openStreams
  let ended = false
  const stream: OpenStream = {
    end: () => {
      if (ended) return
      ended = true
      clearInterval(heartbeat)
      subscription.close()
      streams.delete(stream)
      httpStreamsOpen.dec()
      if (!res.writableEnded) res.end()
    },
  }
  streams.add(stream)
  res.once('close', () => { stream.end() })
}
