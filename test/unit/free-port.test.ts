import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { test } from 'node:test'
import { freePort, portIsFree } from '../../src/supervisor/free-port.js'

function readEphemeralLow (): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
  } catch {
    return 32_768
  }
}
const ephemeralLow = readEphemeralLow()
const top = Math.min(29_999, ephemeralLow - 1)

test('free ports come from below the range the kernel draws outgoing connections\' source ports from', async (t) => {
  if (top - 20_000 < 1_000) t.diagnostic(`ephemeral range starts at ${ephemeralLow}: ports are the kernel's own picks`)
  const picked = new Set<number>()
  for (let n = 0; n < 200; n++) {
    const port = await freePort()
    assert.ok(!picked.has(port), `port ${port} handed out twice`)
    picked.add(port)
    if (top - 20_000 >= 1_000) assert.ok(port >= 20_000 && port <= top, `port ${port} outside 20000–${top}`)
    assert.equal(await portIsFree(port), true)
  }
})

test('a port something listens on is not free', async () => {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  assert.ok(typeof address === 'object' && address !== null)
  try {
    assert.equal(await portIsFree(address.port), false)
  } finally {
    await new Promise((resolve) => server.close(resolve))
  }
})
