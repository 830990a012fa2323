import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { PassThrough } from 'node:stream'
import { after, before, test } from 'node:test'
import { NativePool, type DispatchOptions } from '../../src/gateway/native-pool.js'

let url = ''
let connections = 0
const server = createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString()
    if (req.url === '/empty') { res.writeHead(204); res.end(); return }
    if (req.url === '/chunked') { res.write('part-1,'); setTimeout(() => { res.end('part-2') }, 10); return }
    if (req.url === '/big') { res.end(Buffer.alloc(4 * 1024 * 1024, 'x')); return }
    if (req.url === '/close') { res.writeHead(200, { connection: 'close' }); res.end('bye'); return }
    if (req.url === '/slow') { setTimeout(() => { res.end('late') }, 500); return }
    res.writeHead(200, { 'x-te': String(req.headers['transfer-encoding']), 'content-type': 'text/plain' })
    res.end(`${req.method ?? ''} ${body}`)
  })
})
server.on('connection', () => { connections++ })
server.keepAliveTimeout = 5000
before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
after(() => { server.closeAllConnections(); server.close() })

interface Result { status: number, headers: string[], body: string, error?: Error }

async function send (pool: NativePool, options: Partial<DispatchOptions>, slowReader = false): Promise<Result> {
  return await new Promise((resolve) => {
    const result: Result = { status: 0, headers: [], body: '' }
    const chunks: Buffer[] = []
    let resume: () => void = () => {}
    pool.dispatch({ path: '/', method: 'GET', headers: ['host', 'x'], body: null, headersTimeout: 2000, bodyTimeout: 2000, ...options }, {
      onConnect () {},
      onHeaders (status, headers, r) { result.status = status; result.headers = headers.map(String); resume = r; return true },
      onData (chunk) {
        chunks.push(chunk)
        if (slowReader) { setTimeout(resume, 1); return false }
        return true
      },
      onComplete () { result.body = Buffer.concat(chunks).toString(); resolve(result) },
      onError (error) { result.error = error; resolve(result) },
    })
  })
}

test('keep-alive: sequential requests reuse one connection', async () => {
  const pool = new NativePool(url, { connections: 4, connectTimeoutMs: 1000 })
  const before = connections
  for (let i = 0; i < 5; i++) assert.equal((await send(pool, {})).body, 'GET ')
  assert.equal(connections - before, 1)
  await pool.close()
})

test('bodies: buffered, streamed with a length, and streamed without one (re-framed in chunks)', async () => {
  const pool = new NativePool(url, { connections: 2, connectTimeoutMs: 1000 })
  assert.equal((await send(pool, { method: 'POST', body: Buffer.from('abc') })).body, 'POST abc')
  const sized = new PassThrough()
  const sizedDone = send(pool, { method: 'POST', headers: ['host', 'x', 'content-length', '6'], body: sized })
  sized.end('123456')
  assert.equal((await sizedDone).body, 'POST 123456')
  const stream = new PassThrough()
  const done = send(pool, { method: 'POST', body: stream })
  stream.write('one,')
  setTimeout(() => { stream.end('two') }, 20)
  const streamed = await done
  assert.equal(streamed.body, 'POST one,two')
  assert.ok(streamed.headers.includes('chunked'))
  await pool.close()
})

test('responses: 204 and HEAD have no body, chunked bodies are decoded, big bodies respect backpressure', async () => {
  const pool = new NativePool(url, { connections: 2, connectTimeoutMs: 1000 })
  const empty = await send(pool, { path: '/empty' })
  assert.equal(empty.status, 204)
  assert.equal(empty.body, '')
  const head = await send(pool, { method: 'HEAD' })
  assert.equal(head.status, 200)
  assert.equal(head.body, '')
  assert.equal((await send(pool, {})).body, 'GET ', 'the connection is still in step after HEAD')
  assert.equal((await send(pool, { path: '/chunked' })).body, 'part-1,part-2')
  const big = await send(pool, { path: '/big' }, true)
  assert.equal(big.body.length, 4 * 1024 * 1024)
  await pool.close()
})

test('errors carry the codes the proxy classifies: refused, header time-out, closed', async () => {
  const refused = new NativePool('http://127.0.0.1:1', { connections: 1, connectTimeoutMs: 1000 })
  assert.equal(((await send(refused, {})).error as Error & { code: string }).code, 'ECONNREFUSED')
  const pool = new NativePool(url, { connections: 1, connectTimeoutMs: 1000 })
  const slow = await send(pool, { path: '/slow', headersTimeout: 100 })
  assert.equal((slow.error as Error & { code: string }).code, 'UND_ERR_HEADERS_TIMEOUT')
  assert.equal((await send(pool, { path: '/close' })).body, 'bye')
  assert.equal((await send(pool, {})).body, 'GET ', 'a closed connection is replaced')
  await pool.close()
  await refused.close()
})

test('requests beyond the connection limit wait their turn', async () => {
  const pool = new NativePool(url, { connections: 2, connectTimeoutMs: 1000 })
  const before = connections
  const results = await Promise.all(Array.from({ length: 20 }, async () => await send(pool, { method: 'POST', body: Buffer.from('q') })))
  assert.ok(results.every((r) => r.body === 'POST q'))
  assert.ok(connections - before <= 2)
  await pool.close()
})
