import cluster from 'node:cluster'
import Fastify from 'fastify'
import proxy from '@fastify/http-proxy'

/** The @fastify/http-proxy contender, with as many processes sharing the port as the others get. */
const port = Number(process.argv[2] ?? 3001)
const upstream = process.argv[3] ?? 'http://127.0.0.1:3000'
const processes = Number(process.argv[4] ?? 1)

if (processes > 1 && cluster.isPrimary) {
  for (let i = 0; i < processes; i++) cluster.fork()
  process.on('disconnect', () => { process.exit(0) })
  process.on('SIGTERM', () => { process.exit(0) })
} else {
  const app = Fastify({ logger: false })
  await app.register(proxy, { upstream, http2: false })
  await app.listen({ port, host: '127.0.0.1' })
  process.on('disconnect', () => { process.exit(0) })
}
