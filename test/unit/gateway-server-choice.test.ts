import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { OutgrowError } from '../../src/errors/index.js'
import { probeNativeParser } from '../../src/gateway/http/native-probe.js'
import { chooseServer } from '../../src/gateway/http/server.js'

const failed = { ok: false, reason: 'Node\'s internal HTTP parser failed its self-test: test' } as const

describe('choosing the client-facing server', () => {
  it('finds Node\'s internal parser passing its self-test on this release', () => {
    assert.deepEqual(probeNativeParser(), { ok: true })
  })

  it('auto takes the native server when the probe passes, node:http with the reason when it fails', () => {
    assert.deepEqual(chooseServer('auto', { ok: true }), { kind: 'native' })
    assert.deepEqual(chooseServer('auto', failed), { kind: 'node-http', fallbackReason: failed.reason })
    assert.deepEqual(chooseServer('node-http', { ok: true }), { kind: 'node-http' })
  })

  it('native refuses to start without a working parser rather than failing the first client', () => {
    assert.throws(() => chooseServer('native', failed), (err: unknown) => err instanceof OutgrowError && err.code === 'OUTGROW_CONFIG_INVALID' && err.message.includes('test'))
  })
})

const dir = await mkdtemp(join(tmpdir(), 'outgrow-server-choice-'))
after(async () => { await rm(dir, { recursive: true, force: true }) })

/**
 * A Node release without the parser, or with one that behaves differently, simulated for one
 * child process: a preload changes what `require('_http_common')` gives user code (node:http's
 * own copy is untouched). The child starts a gateway in front of a node:http backend, sends one
 * request through it and prints what it saw.
 */
const PRELOADS = {
  missing: `const Module = require('node:module'); const load = Module._load;
Module._load = function (request, ...rest) { if (request === '_http_common') throw new Error('no such module'); return load.call(this, request, ...rest) }`,
  different: `const Module = require('node:module'); const load = Module._load;
Module._load = function (request, ...rest) { const m = load.call(this, request, ...rest); return request === '_http_common' ? { ...m, methods: [...m.methods].reverse() } : m }`,
}

const CHILD = `
import { createServer } from 'node:http'
const { startGateway } = await import(process.env.SERVER_JS)
const { parseGatewayConfig } = await import(process.env.CONFIG_JS)
const backend = createServer((req, res) => { res.end(req.method + ' ' + req.url) })
await new Promise((resolve) => backend.listen(0, '127.0.0.1', resolve))
let out
try {
  const gw = await startGateway(parseGatewayConfig({ port: 0, server: process.env.SERVER, upstreams: { instances: [{ id: 'b', url: 'http://127.0.0.1:' + backend.address().port }] } }))
  const res = await fetch('http://127.0.0.1:' + gw.port + '/through', { method: 'POST', body: 'x' })
  out = { kind: gw.server.kind, status: res.status, body: await res.text() }
  await gw.close()
} catch (err) {
  out = { error: err.code }
}
backend.close()
process.stdout.write(JSON.stringify(out))
`

async function child (preload: keyof typeof PRELOADS, server: string): Promise<{ out: Record<string, unknown>, log: string }> {
  const preloadPath = join(dir, `${preload}.cjs`)
  const childPath = join(dir, 'child.mjs')
  await writeFile(preloadPath, PRELOADS[preload])
  await writeFile(childPath, CHILD)
  const env = {
    ...process.env,
    SERVER: server,
    SERVER_JS: new URL('../../src/gateway/server.js', import.meta.url).href,
    CONFIG_JS: new URL('../../src/config/gateway-config.js', import.meta.url).href,
  }
  return await new Promise((resolve, reject) => {
    execFile(process.execPath, ['--require', preloadPath, childPath], { env, timeout: 20_000 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`${err.message}\n${stderr}`))
      else resolve({ out: JSON.parse(stdout) as Record<string, unknown>, log: stderr })
    })
  })
}

describe('the fallback on a release whose parser cannot serve', () => {
  it('falls back to node:http and undici when _http_common is missing, saying why in one line', async () => {
    const { out, log } = await child('missing', 'auto')
    assert.deepEqual(out, { kind: 'node-http', status: 200, body: 'POST /through' })
    const lines = log.split('\n').filter((l) => l.includes('internal HTTP parser') || l.includes('_http_common'))
    assert.equal(lines.length, 1, log)
    assert.match(lines[0] as string, /_http_common cannot be loaded.*clients are served by node:http and instances reached with undici/)
  })

  it('falls back when the parser is there but parses differently (its self-test fails)', async () => {
    const { out, log } = await child('different', 'auto')
    assert.deepEqual(out, { kind: 'node-http', status: 200, body: 'POST /through' })
    assert.match(log, /failed its self-test: a request line parsed as/)
  })

  it('server: native refuses to start there', async () => {
    const { out } = await child('missing', 'native')
    assert.deepEqual(out, { error: 'OUTGROW_CONFIG_INVALID' })
  })
})
