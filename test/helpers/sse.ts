import { request } from 'undici'

export interface SseEvent { readonly event: string, readonly data: unknown, readonly at: number }

/** A Server-Sent Events stream read into a list, with a wait for an event that matches. */
export interface SseReader {
  readonly status: number
  readonly events: SseEvent[]
  /** Resolves once the server ended the stream. */
  readonly ended: Promise<void>
  next(match: (e: SseEvent) => boolean, timeoutMs: number, after?: number): Promise<SseEvent>
  close(): void
}

export async function openSse (url: string, headers: Record<string, string>): Promise<SseReader> {
  const controller = new AbortController()
  const res = await request(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal })
  const events: SseEvent[] = []
  let wake: (() => void) | undefined
  const ended = (async () => {
    let buffer = ''
    try {
      for await (const chunk of res.body) {
        buffer += (chunk as Buffer).toString('utf8')
        let end: number
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const event = /^event: (.*)$/m.exec(block)?.[1]
          const data = /^data: (.*)$/m.exec(block)?.[1]
          if (event !== undefined && data !== undefined) events.push({ event, data: JSON.parse(data), at: Date.now() })
          wake?.()
        }
      }
    } catch {}
    wake?.()
  })()
  let done = false
  void ended.then(() => { done = true })
  return {
    status: res.statusCode,
    events,
    ended,
    async next (match, timeoutMs, after = 0) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const found = events.slice(after).find(match)
        if (found !== undefined) return found
        if (done) throw new Error('the stream ended')
        const left = deadline - Date.now()
        if (left <= 0) throw new Error(`no matching event within ${timeoutMs} ms (got ${events.map((e) => e.event).join(', ')})`)
        await new Promise<void>((resolve) => { wake = resolve; setTimeout(resolve, Math.min(left, 200)) })
      }
    },
    close () { controller.abort() },
  }
}
