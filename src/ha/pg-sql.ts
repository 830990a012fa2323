/**
 * The SQL the HA adapter runs on PostgreSQL, and the fence itself. Most calls open their own short
 * connection (application_name `outgrow-ha`): a fence terminates client sessions, and the call
 * must not inherit a dead one. The status read, every loop, keeps one open (`KeptConnection`):
 * a new backend each half second costs a quarter-core server more than the read itself. Sessions
 * named `outgrow-ha` are spared by the fence; application roles must not use that name.
 */
import pg from 'pg'

export const HA_APPLICATION_NAME = 'outgrow-ha'

function haClient (url: string, timeoutMs: number, replication: boolean): pg.Client {
  const config: pg.ClientConfig & { replication?: string } = { connectionString: url, connectionTimeoutMillis: timeoutMs, application_name: HA_APPLICATION_NAME, query_timeout: timeoutMs }
  // A replication connection (walsender) answers IDENTIFY_SYSTEM, also on a standby.
  if (replication) config.replication = 'database'
  const client = new pg.Client(config)
  client.on('error', () => {})
  return client
}

async function withDeadline<T> (timeoutMs: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`PostgreSQL did not answer within ${timeoutMs} ms`)) }, timeoutMs)
  })
  try {
    return await Promise.race([work, deadline])
  } finally {
    clearTimeout(timer)
  }
}

/** Runs `work` on a fresh connection to url, given up (rejected) after timeoutMs. */
export async function withConnection<T> (url: string, timeoutMs: number, work: (client: pg.Client) => Promise<T>, options: { replication?: boolean } = {}): Promise<T> {
  const client = haClient(url, timeoutMs, options.replication === true)
  try {
    return await withDeadline(timeoutMs, (async () => {
      await client.connect()
      return await work(client)
    })())
  } finally {
    void client.end().catch(() => {})
  }
}

/**
 * One connection kept open across calls, one call at a time. Any failure or time-out closes it,
 * so a call never runs on a session that a restart, a crash or a hung server left behind; the next
 * call connects again.
 */
export class KeptConnection {
  readonly #url: string
  readonly #replication: boolean
  #client: Promise<pg.Client> | undefined
  #queue: Promise<unknown> = Promise.resolve()

  constructor (url: string, options: { replication?: boolean } = {}) {
    this.#url = url
    this.#replication = options.replication === true
  }

  async run<T> (timeoutMs: number, work: (client: pg.Client) => Promise<T>): Promise<T> {
    const next = this.#queue.then(async () => await this.#runNow(timeoutMs, work))
    this.#queue = next.catch(() => {})
    return await next
  }

  async #runNow<T> (timeoutMs: number, work: (client: pg.Client) => Promise<T>): Promise<T> {
    const opened = this.#client ??= (async () => {
      const client = haClient(this.#url, timeoutMs, this.#replication)
      client.once('error', () => { if (this.#client === opened) this.close() })
      client.once('end', () => { if (this.#client === opened) this.#client = undefined })
      try {
        await client.connect()
      } catch (err) {
        void client.end().catch(() => {})
        throw err
      }
      return client
    })()
    try {
      return await withDeadline(timeoutMs, (async () => await work(await opened))())
    } catch (err) {
      if (this.#client === opened) this.close()
      throw err
    }
  }

  close (): void {
    const client = this.#client
    this.#client = undefined
    void client?.then(async (c) => { await c.end() }).catch(() => {})
  }
}

/** ALTER SYSTEM SET name = value for each entry, then one reload (ALTER SYSTEM takes no parameters). */
export async function alterSystem (client: pg.Client, settings: Readonly<Record<string, string>>): Promise<void> {
  for (const [name, value] of Object.entries(settings)) {
    if (!/^[a-z_]+$/.test(name)) throw new Error(`not a setting name: ${name}`)
    await client.query(`ALTER SYSTEM SET ${name} = ${client.escapeLiteral(value)}`)
  }
  await client.query('SELECT pg_reload_conf()')
}

/**
 * The fence: default_transaction_read_only = on for the server (ALTER SYSTEM, so it survives a
 * restart), reload, wait until a new session sees it (the postmaster reloads asynchronously), then
 * terminate every other client session — one could have turned read-only off for itself, and a
 * commit still waiting for a synchronous standby gets an error instead of an acknowledgement.
 * Walsenders and background workers are not client backends: replication goes on.
 */
export async function applyFence (url: string, timeoutMs: number): Promise<void> {
  await withConnection(url, timeoutMs, async (client) => {
    await alterSystem(client, { default_transaction_read_only: 'on' })
  })
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const done = await withConnection(url, timeoutMs, async (client) => {
      const { rows } = await client.query<{ ro: string }>("SELECT current_setting('default_transaction_read_only') AS ro")
      if (rows[0]?.ro !== 'on') return false
      await client.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND application_name <> $1`, [HA_APPLICATION_NAME])
      return true
    })
    if (done) return
    if (Date.now() > deadline) throw new Error('the fence did not take effect in time')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** The reverse: writable again (the fence keeper runs it, and only with a deadline in the future). */
export async function applyUnfence (url: string, timeoutMs: number): Promise<void> {
  await withConnection(url, timeoutMs, async (client) => {
    await alterSystem(client, { default_transaction_read_only: 'off' })
  })
}
