import { mkdtemp, rm, chmod } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before } from 'node:test'
import { NatsServer } from '../../src/supervisor/engines/nats.js'
import { PgBouncer } from '../../src/supervisor/engines/pgbouncer.js'
import { PostgresServer } from '../../src/supervisor/engines/postgres.js'
import { RedisServer } from '../../src/supervisor/engines/redis.js'
import { freePort } from '../../src/supervisor/free-port.js'

/**
 * Real engines for tests, each on a free port in a temporary directory. A missing engine throws
 * OUTGROW_ENGINE_MISSING with an install hint: the test fails, it is never skipped.
 */
export interface TestEngines {
  readonly primary: PostgresServer
  readonly replica: PostgresServer | undefined
  readonly redis: RedisServer | undefined
  readonly stop: () => Promise<void>
}

export interface StartEnginesOptions {
  readonly replica?: boolean
  readonly redis?: boolean
  readonly postgres?: boolean
  /** `-c` settings of the PostgreSQL servers, e.g. { max_connections: '30' }. */
  readonly settings?: Readonly<Record<string, string>>
}

export async function startEngines (options: StartEnginesOptions = {}): Promise<TestEngines> {
  const dir = await mkdtemp(join(tmpdir(), 'outgrow-test-'))
  await chmod(dir, 0o755)
  let primary: PostgresServer | undefined
  let replica: PostgresServer | undefined
  let redis: RedisServer | undefined
  const stop = async (): Promise<void> => {
    await redis?.stop()
    await replica?.stop()
    await primary?.stop()
    await rm(dir, { recursive: true, force: true })
  }
  try {
    if (options.postgres !== false) {
      primary = await PostgresServer.createPrimary({ name: 'test-primary', dataDir: join(dir, 'primary'), logFile: join(dir, 'primary.log'), port: await freePort(), durable: false, settings: options.settings })
      await primary.start()
      await primary.createDatabase()
      if (options.replica === true) {
        replica = await PostgresServer.createReplica(primary.options, { name: 'test-replica', dataDir: join(dir, 'replica'), logFile: join(dir, 'replica.log'), port: await freePort(), durable: false, settings: options.settings })
        await replica.start()
      }
    }
    if (options.redis === true) {
      redis = new RedisServer({ name: 'test-redis', dataDir: join(dir, 'redis'), logFile: join(dir, 'redis.log'), port: await freePort(), persistent: false })
      await redis.start()
    }
  } catch (err) {
    await stop()
    throw err
  }
  return { primary: primary as PostgresServer, replica, redis, stop }
}

export async function startRedis (): Promise<{ redis: RedisServer, stop: () => Promise<void> }> {
  const engines = await startEngines({ postgres: false, redis: true })
  return { redis: engines.redis as RedisServer, stop: engines.stop }
}

/**
 * One Redis for a whole test file: started at once, awaited before the first test, stopped after
 * the last. `ready` gives its URL.
 */
export function redisPerFile (): { readonly ready: Promise<string> } {
  const started = startRedis()
  before(async () => { await started })
  after(async () => { await (await started).stop() })
  return { ready: started.then((s) => s.redis.url) }
}

/** A PgBouncer in front of server, on a free port in a temporary directory. */
export async function startPgBouncer (server: PostgresServer, options: { poolSize: number, maxClientConnections?: number }): Promise<{ bouncer: PgBouncer, stop: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'outgrow-test-'))
  await chmod(dir, 0o755)
  const bouncer = new PgBouncer({
    name: 'test-pgbouncer', dataDir: join(dir, 'pgbouncer'), logFile: join(dir, 'pgbouncer.log'), port: await freePort(),
    serverPort: server.options.port, poolSize: options.poolSize, maxClientConnections: options.maxClientConnections ?? 1000,
  })
  const stop = async (): Promise<void> => {
    await bouncer.stop()
    await rm(dir, { recursive: true, force: true })
  }
  try {
    await bouncer.start()
  } catch (err) {
    await stop()
    throw err
  }
  return { bouncer, stop }
}

/** A NATS server with JetStream on a free port in a temporary directory. */
export async function startNats (): Promise<{ nats: NatsServer, stop: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'outgrow-test-'))
  const nats = new NatsServer({ name: 'test-nats', dataDir: join(dir, 'jetstream'), logFile: join(dir, 'nats.log'), port: await freePort() })
  const stop = async (): Promise<void> => {
    await nats.stop()
    await rm(dir, { recursive: true, force: true })
  }
  try {
    await nats.start()
  } catch (err) {
    await stop()
    throw err
  }
  return { nats, stop }
}

/** One NATS server for a whole test file, as redisPerFile. */
export function natsPerFile (): { readonly ready: Promise<string> } {
  const started = startNats()
  before(async () => { await started })
  after(async () => { await (await started).stop() })
  return { ready: started.then((s) => s.nats.url) }
}
