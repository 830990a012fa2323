import { randomInt } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'

/**
 * Ports are picked below the kernel's ephemeral range where it leaves room. A port the kernel
 * hands out for bind(0) comes from the range it also draws connect()'s source ports from: between
 * the pick and the engine's bind, any outgoing connection on the machine can take it, and so can
 * a process dialling that very port while nothing listens there yet (a TCP self-connect, as an
 * etcd member dialling a peer that has not started). Below the range only another bind can.
 */
const LOWEST = 20_000
/** Below Kubernetes' NodePorts (30000–32767), which kube-proxy may route with nothing listening. */
const HIGHEST = 29_999
/** Well-known defaults in the range: Redis Sentinel, MongoDB. */
const KNOWN = new Set([26_379, 27_017, 27_018, 27_019])
const recentlyPicked = new Set<number>()

function ephemeralLow (): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number)
    return low !== undefined && Number.isInteger(low) ? low : 32_768
  } catch {
    return 32_768
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort (): Promise<number> {
  const top = Math.min(HIGHEST, ephemeralLow() - 1)
  if (top - LOWEST >= 1_000) {
    for (let attempt = 0; attempt < 50; attempt++) {
      const port = LOWEST + randomInt(top - LOWEST + 1)
      if (KNOWN.has(port) || recentlyPicked.has(port) || !await portIsFree(port)) continue
      // Not handed out twice by this process while the first caller may not have bound it yet.
      recentlyPicked.add(port)
      setTimeout(() => recentlyPicked.delete(port), 60_000).unref()
      return port
    }
  }
  return await kernelPickedPort()
}

async function kernelPickedPort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => { resolve(port) })
    })
  })
}

/** Whether a port can be bound on host right now. */
export async function portIsFree (port: number, host = '127.0.0.1'): Promise<boolean> {
  return await new Promise((resolve) => {
    const server = createServer()
    server.unref()
    server.once('error', () => { resolve(false) })
    server.listen(port, host, () => { server.close(() => { resolve(true) }) })
  })
}
