import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { OutgrowError } from '../../errors/index.js'

const INSTALL_HINT = 'run `bash scripts/setup.sh` (Debian: apt-get install postgresql redis-server; elsewhere install PostgreSQL ≥ 13 and Redis ≥ 7 and put their binaries on PATH, or set OUTGROW_PG_BIN)'

function onPath (name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = join(dir, name)
    if (dir !== '' && existsSync(candidate)) return candidate
  }
  return undefined
}

/** The directory holding initdb, postgres and pg_basebackup (newest Debian version first). */
export function postgresBinDir (): string {
  const override = process.env.OUTGROW_PG_BIN
  if (override !== undefined && existsSync(join(override, 'postgres'))) return override
  const debianRoot = '/usr/lib/postgresql'
  if (existsSync(debianRoot)) {
    const versions = readdirSync(debianRoot).filter((v) => existsSync(join(debianRoot, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a))
    if (versions[0] !== undefined) return join(debianRoot, versions[0], 'bin')
  }
  const pgConfig = onPath('pg_config')
  if (pgConfig !== undefined) {
    const dir = execFileSync(pgConfig, ['--bindir'], { encoding: 'utf8' }).trim()
    if (existsSync(join(dir, 'initdb'))) return dir
  }
  const initdb = onPath('initdb')
  if (initdb !== undefined) return join(initdb, '..')
  throw new OutgrowError('OUTGROW_ENGINE_MISSING', `PostgreSQL server binaries (initdb, postgres) not found: ${INSTALL_HINT}`)
}

/** PgBouncer, for clusters whose spec sets `pooler: { kind: 'pgbouncer' }` (Debian installs it in /usr/sbin). */
export function pgbouncerBinary (): string {
  const found = process.env.OUTGROW_PGBOUNCER ?? onPath('pgbouncer') ?? ['/usr/sbin/pgbouncer', '/usr/local/sbin/pgbouncer', '/usr/local/bin/pgbouncer'].find((p) => existsSync(p))
  if (found === undefined || !existsSync(found)) {
    throw new OutgrowError('OUTGROW_ENGINE_MISSING', 'pgbouncer not found: run `bash scripts/setup.sh` (Debian: apt-get install pgbouncer; elsewhere install PgBouncer ≥ 1.12 and put it on PATH, or set OUTGROW_PGBOUNCER)')
  }
  return found
}

export function redisServerBinary (): string {
  const found = process.env.OUTGROW_REDIS_SERVER ?? onPath('redis-server') ?? ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p))
  if (found === undefined || !existsSync(found)) {
    throw new OutgrowError('OUTGROW_ENGINE_MISSING', `redis-server not found: ${INSTALL_HINT}`)
  }
  return found
}

/** Redis Sentinel, for Redis servers with `sentinel` (Debian: package redis-sentinel). */
export function redisSentinelBinary (): string {
  const found = process.env.OUTGROW_REDIS_SENTINEL ?? onPath('redis-sentinel') ?? ['/usr/bin/redis-sentinel', '/usr/local/bin/redis-sentinel'].find((p) => existsSync(p))
  if (found === undefined || !existsSync(found)) {
    throw new OutgrowError('OUTGROW_ENGINE_MISSING', 'redis-sentinel not found: run `bash scripts/setup.sh` (Debian: apt-get install redis-sentinel; elsewhere install Redis ≥ 7 with its redis-sentinel binary and put it on PATH, or set OUTGROW_REDIS_SENTINEL)')
  }
  return found
}

/** etcd, for specs with `consensus` (Debian: package etcd-server, /usr/bin/etcd). */
export function etcdBinary (): string {
  const found = process.env.OUTGROW_ETCD ?? onPath('etcd') ?? ['/usr/bin/etcd', '/usr/local/bin/etcd'].find((p) => existsSync(p))
  if (found === undefined || !existsSync(found)) {
    throw new OutgrowError('OUTGROW_ENGINE_MISSING', 'etcd not found: run `bash scripts/setup.sh` (Debian: apt-get install etcd-server; elsewhere install etcd ≥ 3.4 and put it on PATH, or set OUTGROW_ETCD)')
  }
  return found
}

/** NATS with JetStream, for a stack whose event bus is NATS and for its tests (Debian: package nats-server, /usr/sbin/nats-server). */
export function natsServerBinary (): string {
  const found = process.env.OUTGROW_NATS_SERVER ?? onPath('nats-server') ?? ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find((p) => existsSync(p))
  if (found === undefined || !existsSync(found)) {
    throw new OutgrowError('OUTGROW_ENGINE_MISSING', 'nats-server not found: run `bash scripts/setup.sh` (Debian: apt-get install nats-server; elsewhere install NATS Server ≥ 2.9 and put it on PATH, or set OUTGROW_NATS_SERVER)')
  }
  return found
}

/** Prometheus, for `outgrow up --prometheus` (Debian: package prometheus, /usr/bin/prometheus). */
export function prometheusBinary (): string {
  const found = process.env.OUTGROW_PROMETHEUS ?? onPath('prometheus') ?? ['/usr/bin/prometheus', '/usr/local/bin/prometheus'].find((p) => existsSync(p))
  if (found === undefined || !existsSync(found)) {
    throw new OutgrowError('OUTGROW_ENGINE_MISSING', 'prometheus not found: run `bash scripts/setup.sh` (Debian: apt-get install prometheus; elsewhere install Prometheus ≥ 2.30 and put it on PATH, or set OUTGROW_PROMETHEUS)')
  }
  return found
}
