import pg from 'pg'

/**
 * A probe asking every server, in parallel every 100 ms on a fresh connection, whether it accepts
 * writes right now: the way to catch two writable primaries at the same instant (split brain).
 * A server that does not answer within 300 ms counts as not writable: it accepts writes from
 * nobody either.
 */
export interface ProbedServer { readonly name: string, readonly url: string }

export interface Monitor {
  /** Rounds in which more than one server said it accepts writes: [time, names]. */
  readonly overlaps: Array<{ at: number, writable: string[] }>
  /** Per server, the last time it said it accepts writes. */
  readonly lastWritable: Map<string, number>
  rounds: number
  stop(): Promise<void>
}

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))) }

async function writable (server: ProbedServer): Promise<boolean> {
  const client = new pg.Client({ connectionString: server.url, connectionTimeoutMillis: 300, query_timeout: 300 })
  client.on('error', () => {})
  try {
    await client.connect()
    const { rows } = await client.query<{ writable: boolean }>(
      "SELECT NOT pg_is_in_recovery() AND current_setting('default_transaction_read_only') = 'off' AS writable")
    return rows[0]?.writable === true
  } catch {
    return false
  } finally {
    void client.end().catch(() => {})
  }
}

export function startMonitor (servers: readonly ProbedServer[], periodMs = 100): Monitor {
  const monitor: Monitor = { overlaps: [], lastWritable: new Map(), rounds: 0, stop: async () => {} }
  let running = true
  const loop = (async () => {
    while (running) {
      const at = Date.now()
      const answers = await Promise.all(servers.map(writable))
      const names = servers.filter((_, i) => answers[i] === true).map((s) => s.name)
      for (const name of names) monitor.lastWritable.set(name, Date.now())
      if (names.length > 1) monitor.overlaps.push({ at, writable: names })
      monitor.rounds++
      await sleep(periodMs - (Date.now() - at))
    }
  })()
  monitor.stop = async () => { running = false; await loop }
  return monitor
}
