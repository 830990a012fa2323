import { createServer } from 'node:http'

/**
 * An instance on a test host: `node backend.js <id> <port> <delayMs>`. Answers GET with its id
 * after delayMs; SIGUSR2 makes it ten times slower (a gray failure), again back to normal.
 */
const [id = 'x', port = '8000', delay = '2'] = process.argv.slice(2)
let delayMs = Number(delay)
let slow = false
process.on('SIGUSR2', () => { slow = !slow })

const server = createServer((req, res) => {
  req.resume()
  if (req.url === '/readyz') {
    res.end('ok')
    return
  }
  setTimeout(() => {
    res.writeHead(200, { 'x-outgrow-instance': id, 'content-type': 'text/plain' })
    res.end(id)
  }, slow ? delayMs * 10 : delayMs)
})
server.keepAliveTimeout = 60_000
server.listen(Number(port), '0.0.0.0', () => { process.stdout.write(`${JSON.stringify({ listening: true, id })}\n`) })
process.on('SIGTERM', () => { server.closeAllConnections(); server.close(); delayMs = 0 })
