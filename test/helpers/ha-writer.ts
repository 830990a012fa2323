import pg from 'pg'
import { sleep } from './wait.js'

/**
 * A client writing continuously to whichever server accepts writes (one INSERT per id, rotating to
 * the next server on any error), logging every acknowledged id; and a monitor asking every server,
 * in parallel every 100 ms, whether it accepts writes right now.
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

export interface Monitor {
  /** Rounds in which more than one server said it accepts writes: [time, names]. */
  readonly overlaps: Array<{ at: number, writable: string[] }>
  /** Per server, the last time it said it accepts writes. */
  readonly lastWritable: Map<string, number>
  rounds: number
  stop(): Promise<void>
}

export function startMonitor (servers: ReadonlyArray<{ name: string, url: string }>): Monitor {
  const monitor: Monitor = { overlaps: [], lastWritable: new Map(), rounds: 0, stop: async () => {} }
  let running = true
  const ask = async (server: { name: string, url: string }): Promise<boolean> => {
    const client = new pg.Client({ connectionString: server.url, connectionTimeoutMillis: 300, query_timeout: 300 })
    client.on('error', () => {})
    try {
      await client.connect()
      const { rows } = await client.query<{ writable: boolean }>(
        "SELECT NOT pg_is_in_recovery() AND current_setting('default_transaction_read_only') = 'off' AS writable")
      return rows[0]?.writable === true
    } catch {
      return false // not answering: not accepting writes from anyone either
    } finally {
      void client.end().catch(() => {})
    }
  }
  const loop = (async () => {
    while (running) {
      const at = Date.now()
      const answers = await Promise.all(servers.map(ask))
      const writable = servers.filter((_, i) => answers[i] === true).map((s) => s.name)
      for (const name of writable) monitor.lastWritable.set(name, Date.now())
      if (writable.length > 1) monitor.overlaps.push({ at, writable })
      monitor.rounds++
      await sleep(100 - (Date.now() - at))
    }
  })()
  monitor.stop = async () => { running = false; await loop }
  return monitor
}
