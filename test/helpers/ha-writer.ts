import pg from 'pg'
import { sleep } from './wait.js'

export { startMonitor, type Monitor } from '../../src/lab/writable-probe.js'

/**
 * A client writing continuously to whichever server accepts writes (one INSERT per id, rotating to
 * the next server on any error), logging every acknowledged id; and (src/lab/writable-probe.ts) a
 * monitor asking every server, in parallel every 100 ms, whether it accepts writes right now.
 */
export interface Ack { readonly id: number, readonly node: string, readonly at: number }

export interface Writer {
  readonly acks: Ack[]
  stop(): Promise<void>
}

export function startWriter (servers: ReadonlyArray<{ name: string, url: string }>): Writer {
  const acks: Ack[] = []
  let running = true
  const loop = (async () => {
    let id = 0
    let index = 0
    let client: pg.Client | null = null
    while (running) {
      const server = servers[index % servers.length] as { name: string, url: string }
      try {
        if (client === null) {
          client = new pg.Client({ connectionString: server.url, connectionTimeoutMillis: 500, query_timeout: 2000 })
          client.on('error', () => {})
          await client.connect()
        }
        id++
        await client.query('INSERT INTO acks (id) VALUES ($1)', [id])
        acks.push({ id, node: server.name, at: Date.now() })
      } catch {
        void client?.end().catch(() => {})
        client = null
        index++
        await sleep(20)
      }
    }
    await client?.end().catch(() => {})
  })()
  return { acks, stop: async () => { running = false; await loop } }
}
