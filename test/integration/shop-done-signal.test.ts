import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { startEngines, type TestEngines } from '../helpers/engines.js'
import { Browser, startShop, type ShopUnderTest } from '../helpers/shop.js'
import { waitUntil } from '../helpers/wait.js'

/**
 * "When the job is done a signal is sent to the frontend": two shop instances share Redis; the
 * buyer's page listens on one (Server-Sent Events) while the order is placed, and its receipt
 * rendered, on the other. After a reconnect with the last id seen, nothing is repeated.
 */
let engines: TestEngines
let placing: ShopUnderTest
let listening: ShopUnderTest
let listeningUrl = ''

before(async () => {
  engines = await startEngines({ redis: true })
  const redis = engines.redis?.url as string
  const common = { primary: engines.primary.url, cache: { kind: 'memory' as const, maxEntries: 1000 }, session: { kind: 'redis' as const, url: redis, ttlSeconds: 3600 } }
  placing = await startShop({ ...common, products: 50, users: 5 })
  listening = await startShop(common)
  listeningUrl = await listening.app.listen({ port: 0, host: '127.0.0.1' })
})
after(async () => {
  await listening?.close()
  await placing?.close()
  await engines?.stop()
})

interface SseEvent { id?: string, event?: string, data?: string }

/** An EventSource stand-in: the events parsed from a streamed response, as they arrive. */
async function openEvents (cookie: string, lastEventId?: string): Promise<{ status: number, events: SseEvent[], close: () => void }> {
  const abort = new AbortController()
  const response = await fetch(`${listeningUrl}/api/events`, {
    headers: { cookie, accept: 'text/event-stream', ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }) },
    signal: abort.signal,
  })
  const events: SseEvent[] = []
  if (response.body !== null && response.status === 200) {
    void (async () => {
      const decoder = new TextDecoder()
      let buffered = ''
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          buffered += decoder.decode(chunk, { stream: true })
          let end
          while ((end = buffered.indexOf('\n\n')) >= 0) {
            const block = buffered.slice(0, end)
            buffered = buffered.slice(end + 2)
            const event: SseEvent = {}
            for (const line of block.split('\n')) {
              const colon = line.indexOf(':')
              if (colon <= 0) continue
              const field = line.slice(0, colon)
              const value = line.slice(colon + 1).trimStart()
              if (field === 'id' || field === 'event' || field === 'data') event[field] = value
            }
            if (event.event !== undefined) events.push(event)
          }
        }
      } catch { /* aborted */ }
    })()
  }
  return { status: response.status, events, close: () => { abort.abort() } }
}

async function buy (browser: Browser, productId: number): Promise<number> {
  assert.equal((await browser.request('POST', '/api/cart/items', { productId, qty: 1 })).status, 201)
  const order = await browser.request('POST', '/api/orders', {})
  assert.equal(order.status, 201, JSON.stringify(order.json))
  return order.json.id as number
}

test('the order page on one instance learns its receipt is ready from a worker on another, and a reconnect repeats nothing', async () => {
  const buyer = new Browser(placing.app)
  assert.equal((await buyer.request('POST', '/api/login', { email: 'user1@example.com', password: 'password123' })).status, 200)

  const anonymous = await openEvents('')
  assert.equal(anonymous.status, 401, 'a page without a session gets no stream')

  const page = await openEvents(buyer.cookie)
  assert.equal(page.status, 200)
  const first = await buy(buyer, 3)
  assert.ok(await waitUntil(async () => page.events.length >= 1, 10_000, 10), 'order.confirmed arrived without polling')
  assert.equal(page.events[0]?.event, 'order.confirmed')
  assert.deepEqual(JSON.parse(page.events[0]?.data ?? '{}'), { orderId: first, status: 'confirmed', receiptReady: true })
  const lastSeen = page.events[0]?.id as string
  page.close()

  // Offline while the next order is confirmed; back with the last id seen.
  const second = await buy(buyer, 4)
  assert.ok(await waitUntil(async () => {
    const view = await buyer.request('GET', `/api/orders/${second}`)
    return view.json.receiptReady === true
  }, 10_000, 20))
  const back = await openEvents(buyer.cookie, lastSeen)
  assert.ok(await waitUntil(async () => back.events.length >= 1, 10_000, 10), 'the missed notice is delivered on reconnect')
  const third = await buy(buyer, 5)
  assert.ok(await waitUntil(async () => back.events.length >= 2, 10_000, 10))
  await new Promise((resolve) => setTimeout(resolve, 200))
  back.close()
  assert.deepEqual(back.events.map((e) => (JSON.parse(e.data ?? '{}') as { orderId: number }).orderId), [second, third], 'each once, in order; the first not repeated')
})
