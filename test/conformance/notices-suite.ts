import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { OutgrowError } from '../../src/errors/index.js'
import type { Notice, Notices } from '../../src/notices/notices.js'
import { waitUntil } from '../helpers/wait.js'

interface Collected {
  readonly notices: Notice[]
  gaps: number
}

function collector (): Collected & { onNotice: (n: Notice) => void, onGap: () => void } {
  const c = { notices: [] as Notice[], gaps: 0, onNotice: (n: Notice) => { c.notices.push(n) }, onGap: () => { c.gaps++ } }
  return c
}

/**
 * One behaviour for every notices adapter. `open` gives a handle on the same store each time: for
 * a shared store (Redis), a new one as another instance would have; in one process, the same.
 */
export function noticesConformance (name: string, open: () => Promise<Notices>): void {
  describe(`notices conformance: ${name}`, () => {
    const opened: Notices[] = []
    const handle = async (): Promise<Notices> => { const n = await open(); opened.push(n); return n }
    after(async () => { await Promise.all([...new Set(opened)].map(async (n) => { await n.close() })) })

    it('delivers what is published after the subscription, in order, to every listener of the audience only', async () => {
      const publisher = await handle()
      const reader = await handle()
      const mine = collector()
      const other = collector()
      const a = await reader.subscribe('user:1', undefined, mine)
      const b = await reader.subscribe('user:2', undefined, other)
      for (let i = 0; i < 20; i++) await publisher.publish('user:1', 'tick', { i })
      assert.ok(await waitUntil(async () => mine.notices.length === 20, 5000, 5))
      assert.deepEqual(mine.notices.map((n) => (n.data as { i: number }).i), Array.from({ length: 20 }, (_, i) => i))
      assert.equal(new Set(mine.notices.map((n) => n.id)).size, 20, 'ids are distinct')
      assert.equal(other.notices.length, 0)
      assert.equal(mine.gaps, 0)
      a.close()
      b.close()
    })

    it('a reconnect with the last id seen gets what it missed, once, then what comes next', async () => {
      const store = await handle()
      const first = collector()
      const s1 = await store.subscribe('order:7', undefined, first)
      await store.publish('order:7', 'status', { s: 'placed' })
      assert.ok(await waitUntil(async () => first.notices.length === 1, 5000, 5))
      s1.close()
      const lastSeen = first.notices[0]?.id as string
      await store.publish('order:7', 'status', { s: 'paid' })
      await store.publish('order:7', 'status', { s: 'confirmed' })
      const again = collector()
      const s2 = await (await handle()).subscribe('order:7', lastSeen, again)
      assert.ok(await waitUntil(async () => again.notices.length === 2, 5000, 5), 'the two it missed')
      await store.publish('order:7', 'status', { s: 'shipped' })
      assert.ok(await waitUntil(async () => again.notices.length === 3, 5000, 5))
      assert.deepEqual(again.notices.map((n) => (n.data as { s: string }).s), ['paid', 'confirmed', 'shipped'])
      assert.equal(again.gaps, 0)
      s2.close()
    })

    it('an id it cannot place is a gap: the page reloads what it shows', async () => {
      const store = await handle()
      await store.publish('user:9', 'tick', {})
      const c = collector()
      const s = await store.subscribe('user:9', 'not-an-id-of-this-store', c)
      assert.ok(await waitUntil(async () => c.gaps === 1, 5000, 5))
      s.close()
    })

    it('a closed subscription gets nothing more', async () => {
      const store = await handle()
      const c = collector()
      const s = await store.subscribe('user:3', undefined, c)
      s.close()
      await store.publish('user:3', 'tick', {})
      await new Promise((resolve) => setTimeout(resolve, 100))
      assert.equal(c.notices.length, 0)
    })

    it('refuses a bad audience, type or payload with an error naming it, and stores nothing', async () => {
      const store = await handle()
      const refused = async (work: Promise<unknown>, field: string): Promise<void> => {
        await assert.rejects(work, (err: unknown) => err instanceof OutgrowError && err.code === 'OUTGROW_VALIDATION' && err.details?.field === field)
      }
      await refused(store.publish('', 'tick', {}), 'audience')
      await refused(store.publish('user 1', 'tick', {}), 'audience')
      await refused(store.publish('user:4', 'no spaces', {}), 'type')
      await refused(store.publish('user:4', 'tick', 'x'.repeat(20_000)), 'data')
      const c = collector()
      const s = await store.subscribe('user:4', undefined, c)
      await store.publish('user:4', 'tick', { ok: true })
      assert.ok(await waitUntil(async () => c.notices.length === 1, 5000, 5))
      assert.deepEqual(c.notices[0]?.data, { ok: true })
      s.close()
    })
  })
}
