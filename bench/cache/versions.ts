import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { Redis } from 'ioredis'
import pg from 'pg'

/** The versions a reader needs to repeat the run: the engines as they answer, bentocache as installed. */
export async function engineVersions (redisUrl: string, postgresUrl: string): Promise<Record<string, string>> {
  const redis = new Redis(redisUrl)
  const client = new pg.Client({ connectionString: postgresUrl })
  try {
    const info = await redis.info('server')
    await client.connect()
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version')
    // Its exports map does not include package.json: found beside its entry point (build/index.js).
    const require = createRequire(import.meta.url)
    const bentoPackage = JSON.parse(await readFile(join(dirname(require.resolve('bentocache')), '..', 'package.json'), 'utf8')) as { version: string }
    return {
      Redis: /redis_version:(\S+)/.exec(info)?.[1] ?? '?',
      PostgreSQL: rows[0]?.server_version ?? '?',
      bentocache: bentoPackage.version,
    }
  } finally {
    redis.disconnect()
    await client.end().catch(() => {})
  }
}
