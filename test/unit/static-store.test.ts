import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { request } from 'undici'
import { parseGatewayConfig } from '../../src/config/gateway-config.js'
import { startGateway } from '../../src/gateway/server.js'
import { DirectoryStaticStore } from '../../src/static-store/directory-store.js'
import { startBackend } from '../helpers/backends.js'

const cleanups: Array<() => Promise<void>> = []
after(async () => { for (const c of cleanups.reverse()) await c() })

async function tempStore (): Promise<DirectoryStaticStore> {
  const dir = await mkdtemp(join(tmpdir(), 'outgrow-static-store-'))
  cleanups.push(async () => { await rm(dir, { recursive: true, force: true }) })
  return new DirectoryStaticStore(dir)
}

describe('directory static store', () => {
  it('keeps a URL path as <path>/index.html and leaves no temporary file behind', async () => {
    const store = await tempStore()
    await store.put('/products/42', '<p>one</p>')
    assert.equal(await readFile(join(store.root, 'products', '42', 'index.html'), 'utf8'), '<p>one</p>')
    await store.put('/products/42', '<p>two</p>')
    assert.equal(await readFile(join(store.root, 'products', '42', 'index.html'), 'utf8'), '<p>two</p>')
    assert.deepEqual(await readdir(join(store.root, 'products', '42')), ['index.html'])
  })

  it('replaces a copy atomically: a reader sees the whole old or the whole new content, never a part', async () => {
    const store = await tempStore()
    const versions = ['a'.repeat(300_000), 'b'.repeat(200_000)]
    await store.put('/products/7', versions[0] as string)
    const file = join(store.root, 'products', '7', 'index.html')
    let writing = true
    const writer = (async () => {
      for (let i = 1; i <= 60; i++) await store.put('/products/7', versions[i % 2] as string)
      writing = false
    })()
    let reads = 0
    while (writing) {
      const seen = await readFile(file, 'utf8')
      assert.ok(seen === versions[0] || seen === versions[1], `a read saw ${seen.length} bytes of a mix`)
      reads++
    }
    await writer
    assert.ok(reads > 0)
  })

  it('deletes a copy and its directory; deleting a missing copy is fine', async () => {
    const store = await tempStore()
    await store.put('/products/9', 'x')
    await store.delete('/products/9')
    await assert.rejects(stat(join(store.root, 'products', '9')), { code: 'ENOENT' })
    await store.delete('/products/9')
    await store.delete('/products/10')
  })

  it('refuses paths that could leave the store or hide from the gateway, naming the path', async () => {
    const store = await tempStore()
    for (const bad of ['', '/', 'products/1', '/products/../../etc', '/products/./1', '/.hidden', '/products//1', '/products/1/', '/a\0b', '/a/b c', `/${'x'.repeat(200)}`]) {
      await assert.rejects(store.put(bad, 'x'), (err: { code?: string, message?: string }) => err.code === 'OUTGROW_VALIDATION' && /static store path/.test(String(err.message)), bad)
      await assert.rejects(store.delete(bad), { code: 'OUTGROW_VALIDATION' })
    }
    assert.deepEqual(await readdir(store.root), [])
  })
})

describe('the gateway serving the store', () => {
  it('serves a put page at its path as HTML with ETag and 304, a replaced copy at once, a deleted one no more', async () => {
    const store = await tempStore()
    const backend = await startBackend('app-1')
    cleanups.push(async () => { await backend.close() })
    const gw = await startGateway(parseGatewayConfig({
      port: 0, admin: { port: 0 }, static: { dir: store.root, maxAgeSeconds: 5 },
      upstreams: { instances: [{ id: backend.id, url: backend.url }], healthCheck: { intervalMs: 100, timeoutMs: 100, rise: 1, fall: 1 } },
    }))
    cleanups.push(async () => { await gw.close() })
    const url = `http://127.0.0.1:${gw.port}/products/42`
    const get = async (headers: Record<string, string> = {}): Promise<{ status: number, headers: Record<string, unknown>, body: string }> => {
      const res = await request(url, { headers })
      return { status: res.statusCode, headers: res.headers, body: await res.body.text() }
    }

    const before = await get()
    assert.equal(before.headers['x-outgrow-instance'], 'app-1', 'no copy yet: proxied')
    await store.put('/products/42', '<p>$19.99</p>')
    // The gateway remembers a miss for a second: the copy is served once that passes.
    let first = await get()
    for (let i = 0; i < 100 && first.headers['x-outgrow-static'] !== 'hit'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      first = await get()
    }
    assert.equal(first.headers['x-outgrow-static'], 'hit')
    assert.equal(first.body, '<p>$19.99</p>')
    assert.equal(first.headers['content-type'], 'text/html; charset=utf-8')
    assert.equal(first.headers['cache-control'], 'public, max-age=5')
    const etag = String(first.headers.etag)
    assert.equal((await get({ 'if-none-match': etag })).status, 304)

    // Same size, replaced within the look-up cache's second: the next request gets the new bytes and ETag.
    await store.put('/products/42', '<p>$29.99</p>')
    const replaced = await get({ 'if-none-match': etag })
    assert.equal(replaced.status, 200)
    assert.equal(replaced.body, '<p>$29.99</p>')
    assert.notEqual(replaced.headers.etag, etag)
    assert.equal((await get({ 'if-none-match': String(replaced.headers.etag) })).status, 304)

    await store.delete('/products/42')
    const gone = await get()
    assert.equal(gone.headers['x-outgrow-instance'], 'app-1', 'a deleted copy is proxied to the app')
  })
})
