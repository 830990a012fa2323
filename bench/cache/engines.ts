import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PostgresServer } from '../../src/supervisor/engines/postgres.js'
import { RedisServer } from '../../src/supervisor/engines/redis.js'
import { freePort } from '../../src/supervisor/free-port.js'

export interface BenchEngines {
  readonly redisUrl: string
  readonly postgresUrl: string
  readonly stop: () => Promise<void>
}

/**
 * One Redis and one PostgreSQL for the whole run, each on a free port in a temporary directory,
 * shared by both contenders (the same servers, so neither gets a faster one).
 */
export async function startBenchEngines (): Promise<BenchEngines> {
  const dir = await mkdtemp(join(tmpdir(), 'outgrow-bench-cache-'))
  // PostgreSQL runs as an unprivileged user when we are root: it must reach its directory.
  await chmod(dir, 0o755)
  let postgres: PostgresServer | undefined
  let redis: RedisServer | undefined
  const stop = async (): Promise<void> => {
    await redis?.stop()
    await postgres?.stop()
    await rm(dir, { recursive: true, force: true })
  }
  try {
    postgres = await PostgresServer.createPrimary({ name: 'bench-postgres', dataDir: join(dir, 'postgres'), logFile: join(dir, 'postgres.log'), port: await freePort(), durable: false })
    await postgres.start()
    await postgres.createDatabase()
    redis = new RedisServer({ name: 'bench-redis', dataDir: join(dir, 'redis'), logFile: join(dir, 'redis.log'), port: await freePort(), persistent: false })
    await redis.start()
  } catch (err) {
    await stop()
    throw err
  }
  return { redisUrl: redis.url, postgresUrl: postgres.url, stop }
}
