import Fastify from 'fastify'

/** The backend every contender proxies to: Fastify answering a small JSON document. */
const port = Number(process.argv[2] ?? 3000)
const app = Fastify({ logger: false })
app.get('/*', async () => ({ hello: 'world', items: [1, 2, 3] }))
app.get('/readyz', async () => 'ok')
await app.listen({ port, host: '127.0.0.1' })
process.send?.('ready')
process.on('disconnect', () => { process.exit(0) })
