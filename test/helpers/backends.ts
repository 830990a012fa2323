import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Backend {
  readonly id: string
  readonly url: string
  readonly server: Server
  hits: number
  close(): Promise<void>
}

/**
 * A small HTTP instance for gateway tests: echoes what it received, names itself in
 * x-outgrow-instance, and can be told to fail or slow down.
 */
export async function startBackend (id: string, behaviour: (req: IncomingMessage, res: ServerResponse, body: string) => boolean = () => false): Promise<Backend> {
  const backend = { hits: 0 } as Backend & { hits: number }
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString()
      if (req.url === '/readyz') { res.end('ok'); return }
      backend.hits++
      if (behaviour(req, res, body)) return
      res.writeHead(200, { 'x-outgrow-instance': id, 'content-type': 'application/json' })
      res.end(JSON.stringify({ id, method: req.method, url: req.url, body, headers: req.headers }))
    })
  })
  const upgraded = new Set<import('node:stream').Duplex>()
  server.on('upgrade', (req, socket) => {
    upgraded.add(socket)
    socket.on('close', () => upgraded.delete(socket))
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: ${String(req.headers.upgrade)}\r\nconnection: Upgrade\r\nx-outgrow-instance: ${id}\r\n\r\n`)
    socket.on('data', (d: Buffer) => { socket.write(`${id}:${d.toString()}`) })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return Object.assign(backend, {
    id,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    close: async () => {
      server.closeAllConnections()
      for (const socket of upgraded) socket.destroy()
      await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
    },
  })
}
