import pg from 'pg'

/**
 * The benchmark's "database": `items` holds each key's current version (what a loader reads and a
 * writer bumps), `loads` gets one row per loader run, so the database itself counts the queries a
 * cache let through.
 */
export const SCHEMA = `
  CREATE TABLE IF NOT EXISTS items (key text PRIMARY KEY, version int NOT NULL);
  CREATE TABLE IF NOT EXISTS loads (key text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());
  CREATE INDEX IF NOT EXISTS loads_key ON loads (key);`

export async function createSchema (url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(SCHEMA)
  } finally {
    await client.end()
  }
}

/** A cached value: the version read from the database, padded to the size of a product's JSON. */
export interface Item {
  readonly key: string
  readonly version: number
  readonly pad: string
}

const PAD = 'x'.repeat(1000)

export const itemOf = (key: string, version: number): Item => ({ key, version, pad: PAD })

/** The database side of one instance: a small pool, a counted loader, a writer. */
export class ItemsDb {
  readonly #pool: pg.Pool

  constructor (url: string, connections: number) {
    this.#pool = new pg.Pool({ connectionString: url, max: connections })
  }

  /** One loader run: counted in `loads`, then the item read (held `holdMs` inside the query, as a slower query would). */
  async load (key: string, holdMs = 0): Promise<Item> {
    await this.#pool.query('INSERT INTO loads (key) VALUES ($1)', [key])
    const { rows } = await this.#pool.query<{ version: number }>(
      holdMs > 0 ? 'SELECT version FROM items, pg_sleep($2::float8 / 1000) WHERE key = $1' : 'SELECT version FROM items WHERE key = $1',
      holdMs > 0 ? [key, holdMs] : [key])
    return itemOf(key, rows[0]?.version ?? 0)
  }

  /** The item as the database has it now, uncounted (the stale-set part's loader: one round trip, so the race is timed by its delays, not by a queue). */
  async read (key: string): Promise<Item> {
    const { rows } = await this.#pool.query<{ version: number }>('SELECT version FROM items WHERE key = $1', [key])
    return itemOf(key, rows[0]?.version ?? 0)
  }

  async insert (keys: readonly string[]): Promise<void> {
    await this.#pool.query('INSERT INTO items (key, version) SELECT unnest($1::text[]), 0 ON CONFLICT (key) DO UPDATE SET version = 0', [keys])
  }

  async bump (key: string): Promise<void> {
    await this.#pool.query('UPDATE items SET version = version + 1 WHERE key = $1', [key])
  }

  async versions (keys: readonly string[]): Promise<Map<string, number>> {
    const { rows } = await this.#pool.query<{ key: string, version: number }>('SELECT key, version FROM items WHERE key = ANY($1::text[])', [keys])
    return new Map(rows.map((r) => [r.key, r.version]))
  }

  async loadsOf (keys: readonly string[]): Promise<number> {
    const { rows } = await this.#pool.query<{ n: string }>('SELECT count(*) AS n FROM loads WHERE key = ANY($1::text[])', [keys])
    return Number(rows[0]?.n ?? 0)
  }

  async close (): Promise<void> { await this.#pool.end() }
}
