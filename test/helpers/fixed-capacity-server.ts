import { createServer } from 'node:http'

/**
 * A server with a known capacity, for testing the capacity search: `slots` requests are served at
 * once, each for exactly `serviceMs`, the rest wait in FIFO order. It carries slots × 1000 /
 * serviceMs requests per second. Each slot's next free time is computed from the ideal schedule,
 * not from when a timer fired, so timer overshoot does not accumulate into a lower capacity.
 * Run as a child process: argv slots, serviceMs; it sends { port } over IPC once listening.
 */
const slots = Number(process.argv[2] ?? 4)
const serviceMs = Number(process.argv[3] ?? 20)
const freeAt = Array.from({ length: slots }, () => 0)

const server = createServer((request, response) => {
  request.resume()
  const now = performance.now()
  let slot = 0
  for (let i = 1; i < slots; i++) if ((freeAt[i] as number) < (freeAt[slot] as number)) slot = i
  const done = Math.max(now, freeAt[slot] as number) + serviceMs
  freeAt[slot] = done
  setTimeout(() => { response.end('{"ok":true}') }, done - now)
})
server.keepAliveTimeout = 30_000
server.listen(0, '127.0.0.1', () => {
  const address = server.address()
  if (address !== null && typeof address === 'object') process.send?.({ port: address.port })
})
process.on('disconnect', () => { process.exit(0) })
